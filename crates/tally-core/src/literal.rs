//! Typed constant values for rows tally writes as data (the business clock's rows): a value and
//! its column type, written as SQL only by the SQL stage (`dialect::values`), never spliced.

/// The type of a column of constant rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiteralType {
    Text,
    Date,
    Integer,
    Double,
}

/// One value of a constant row. Text is written with `Dialect::string_literal`, never spliced.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Text(String),
    Date(jiff::civil::Date),
    Integer(i64),
    Double(f64),
}

impl Literal {
    pub fn ty(&self) -> LiteralType {
        match self {
            Literal::Text(_) => LiteralType::Text,
            Literal::Date(_) => LiteralType::Date,
            Literal::Integer(_) => LiteralType::Integer,
            Literal::Double(_) => LiteralType::Double,
        }
    }
}
