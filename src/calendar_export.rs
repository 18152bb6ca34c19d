//! `tally calendars` without DuckDB: list the project's business calendars, export a calendar's
//! business clock (CSV seed or `CREATE TABLE` SQL for a dialect), print the staleness check query.
//! Running the check on a DuckDB database (`check --duckdb FILE`) is `calendars`, in
//! `tally-engine`.

use crate::choices::{CalendarsAction, DialectArg, ExportFormat};
use crate::commands::pick_dialect;
use crate::{report, Ctx, EXIT_OK, EXIT_USAGE};
use tally_core::calendar::{clock, export};
use tally_core::diag::{codes, did_you_mean, Diagnostic};
use tally_core::model::Model;

/// The project and the business clocks of `calendar` (a calendar chosen by column: the calendars
/// it maps to), else of every calendar; an unknown name is reported (E0808) and the exit code
/// returned.
pub(crate) fn clocks(ctx: &Ctx, calendar: Option<&str>) -> Result<(Model, Vec<clock::Clock>), u8> {
    let model = ctx.load()?;
    let cals = &model.calendars;
    let names: Vec<&str> = match calendar {
        Some(n) => {
            if cals.calendars.contains_key(n) {
                cals.schedules_of(n)
                    .into_iter()
                    .map(|s| s.name.as_str())
                    .collect()
            } else {
                let mut d = Diagnostic::error(
                    codes::UNKNOWN_CALENDAR,
                    format!("unknown business calendar `{n}`"),
                );
                if let Some(s) = did_you_mean(n, cals.declared.iter().map(|s| s.as_str())) {
                    d = d.with_help(format!("did you mean `{s}`?"));
                }
                return Err(report::fail(ctx, d, EXIT_USAGE));
            }
        }
        None => cals
            .calendars
            .keys()
            .filter_map(|n| cals.schedule(n).map(|s| s.name.as_str()))
            .collect(),
    };
    let clocks: Vec<clock::Clock> = names
        .iter()
        .filter_map(|n| cals.schedule(n))
        .map(clock::expand)
        .collect();
    Ok((model, clocks))
}

/// `tally calendars list|export|check` (the check's query printed, not run).
pub(crate) fn run(
    ctx: &Ctx,
    action: CalendarsAction,
    calendar: Option<&str>,
    format: ExportFormat,
    dialect: Option<DialectArg>,
    duckdb: bool,
) -> u8 {
    let (model, clocks) = match clocks(ctx, calendar) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if duckdb {
        // `check` and `export` with --duckdb run in the engine; only `list` comes here with it.
        let d = Diagnostic::error(
            codes::USAGE,
            "`tally calendars list` reads the project only; --duckdb is for `check` and `export`",
        )
        .with_help("see whether the copies in a DuckDB database are current with `tally calendars check --duckdb FILE`");
        return report::fail(ctx, d, EXIT_USAGE);
    }
    let cals = &model.calendars;
    if action == CalendarsAction::List {
        for c in &clocks {
            let s = cals.schedule(&c.calendar).expect("a schedule");
            println!(
                "{}\t{}\t{}..{}\t{} days\tfingerprint {}",
                c.calendar,
                s.timezone,
                s.range.0,
                s.range.1,
                c.days.len(),
                c.fingerprint
            );
        }
        return EXIT_OK;
    }
    if (action, format) == (CalendarsAction::Export, ExportFormat::Csv) {
        print!(
            "{}",
            clocks.iter().map(export::csv).collect::<Vec<_>>().join("")
        );
        return EXIT_OK;
    }
    let d = match pick_dialect(ctx, &model, dialect) {
        Ok(d) => d,
        Err(code) => return code,
    };
    if action == CalendarsAction::Export {
        let ddl: Vec<String> = clocks
            .iter()
            .map(|c| tally_core::dialect::values::create_clock_table(c, d))
            .collect();
        println!("{}", ddl.join("\n").trim_end());
        return EXIT_OK;
    }
    println!("{}", d.clock_check_query(&clocks).trim_end());
    EXIT_OK
}
