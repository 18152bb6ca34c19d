//! tally's servers: `tally mcp` (the Model Context Protocol) and `tally serve` (an HTTP JSON API).
