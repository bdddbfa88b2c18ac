//! Filter for devices: the rule language of `conditions.devices.deviceFilter.rule`.
//!
//! The syntax is that of dynamic membership rules (entra-docs
//! `identity/users/groups-dynamic-membership.md`): `device.attribute -operator value`,
//! combined with `-and`, `-or`, `-not` and parentheses. Precedence, highest first:
//! comparisons, `-not`, `-and`, `-or`. Operators may be written with or without the leading
//! hyphen, in any case; string comparisons are case-insensitive. Values are quoted strings
//! (`"..."` or `'...'`), `true`/`false`, `null`, or lists `["a", "b"]` for `-in`/`-notIn`.
//!
//! Evaluation follows the filter-for-devices page
//! (`identity/conditional-access/concept-condition-filters-for-devices.md`): a device that
//! is not registered in Entra has every attribute null, so a positive operator (`-eq`,
//! `-startsWith`, `-endsWith`, `-contains`, `-in`) is false on it and a negative one
//! (`-ne`, `-notStartsWith`, ...) is true. An explicit `null` value compares for absence.

use std::fmt;

use crate::world::app::{did_you_mean, DeviceTrust};

use super::Platform;

/// Whether devices matching the rule are the only ones in scope, or are taken out of scope.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum FilterMode {
    Include,
    Exclude,
}

impl FilterMode {
    pub fn name(self) -> &'static str {
        match self {
            FilterMode::Include => "include",
            FilterMode::Exclude => "exclude",
        }
    }
}

/// A parsed device filter.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DeviceFilter {
    pub mode: FilterMode,
    pub rule: Rule,
    /// The rule as written, for explanations.
    pub text: String,
}

/// A device attribute the simulator knows a value for, or one it does not model.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Attr {
    /// `AzureAD` (joined), `ServerAD` (hybrid joined), `Workplace` (registered).
    TrustType,
    /// `True` / `False`.
    IsCompliant,
    /// Derived from the sign-in's platform (`Windows`, `MacMDM`, `iOS`, `Android`, `Linux`).
    OperatingSystem,
    /// `RegisteredDevice`, the documented default for every registered device.
    ProfileType,
    /// `Company` or `Personal`: what the population gives its devices, else what Intune
    /// sets from how the device joined (joined and hybrid joined: `Company`; registered:
    /// `Personal`). An assumption: devices are enrolled in Intune (docs/policies.md).
    DeviceOwnership,
    /// A documented attribute the simulated devices do not carry (extension attributes,
    /// model, ...): always null, i.e. treated like an unregistered device's.
    Unmodelled(String),
}

/// A comparison operator.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Eq,
    Ne,
    StartsWith,
    NotStartsWith,
    EndsWith,
    NotEndsWith,
    Contains,
    NotContains,
    In,
    NotIn,
}

impl Op {
    /// Negative operators are true on a null attribute (unregistered device).
    fn negative(self) -> bool {
        matches!(
            self,
            Op::Ne | Op::NotStartsWith | Op::NotEndsWith | Op::NotContains | Op::NotIn
        )
    }

    fn parse(word: &str) -> Option<Op> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "startswith" => Op::StartsWith,
            "notstartswith" => Op::NotStartsWith,
            "endswith" => Op::EndsWith,
            "notendswith" => Op::NotEndsWith,
            "contains" => Op::Contains,
            "notcontains" => Op::NotContains,
            "in" => Op::In,
            "notin" => Op::NotIn,
            _ => return None,
        })
    }
}

/// The right-hand side of a comparison.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Literal {
    Text(String),
    List(Vec<String>),
    Null,
}

/// A parsed rule.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    Cmp { attr: Attr, op: Op, value: Literal },
    Not(Box<Rule>),
    And(Box<Rule>, Box<Rule>),
    Or(Box<Rule>, Box<Rule>),
}

/// What a device filter can see of the sign-in's device.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct DeviceFacts<'a> {
    pub trust: DeviceTrust,
    pub compliant: bool,
    pub platform: Platform,
    /// Other attributes a population gives its devices (`deviceOwnership`, `displayName`,
    /// `systemLabels`, extension attributes, ...): lower-case names without `device.`.
    pub attributes: &'a [(String, String)],
}

impl DeviceFacts<'_> {
    /// The attribute's value, `None` for null. An unmanaged device is unregistered: every
    /// attribute is null.
    fn value(&self, attr: &Attr) -> Option<&str> {
        let trust_type = self.trust.graph_trust_type()?;
        match attr {
            Attr::TrustType => Some(trust_type),
            Attr::IsCompliant => Some(if self.compliant { "True" } else { "False" }),
            Attr::OperatingSystem => Some(match self.platform {
                Platform::Windows => "Windows",
                Platform::MacOs => "MacMDM",
                Platform::Ios => "iOS",
                Platform::Android => "Android",
                Platform::Linux => "Linux",
            }),
            Attr::ProfileType => Some("RegisteredDevice"),
            Attr::DeviceOwnership => Some(self.attribute("deviceownership").unwrap_or(
                match self.trust {
                    DeviceTrust::Registered => "Personal",
                    _ => "Company",
                },
            )),
            Attr::Unmodelled(name) => {
                let key = name
                    .strip_prefix("device.")
                    .unwrap_or(name)
                    .to_ascii_lowercase();
                self.attribute(&key)
            }
        }
    }

    /// An attribute the population gave the device (a lower-case name).
    fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// How many of the devices the simulator can produce (every trust type, compliance and
/// platform) match `rule`, out of how many.
pub fn match_count(rule: &Rule) -> (usize, usize) {
    let mut matched = 0;
    let mut total = 0;
    for trust in DeviceTrust::ALL {
        for compliant in [false, true] {
            for platform in Platform::ALL {
                total += 1;
                if rule.matches(&DeviceFacts {
                    attributes: &[],
                    trust,
                    compliant,
                    platform,
                }) {
                    matched += 1;
                }
            }
        }
    }
    (matched, total)
}

impl Rule {
    /// Whether the device matches the rule.
    pub fn matches(&self, device: &DeviceFacts) -> bool {
        match self {
            Rule::Not(r) => !r.matches(device),
            Rule::And(a, b) => a.matches(device) && b.matches(device),
            Rule::Or(a, b) => a.matches(device) || b.matches(device),
            Rule::Cmp { attr, op, value } => compare(device.value(attr), *op, value),
        }
    }

    /// Attributes the rule reads that the simulator does not model, for load warnings.
    pub fn unmodelled(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_unmodelled(&mut out);
        out.dedup();
        out
    }

    fn collect_unmodelled<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Rule::Cmp {
                attr: Attr::Unmodelled(name),
                ..
            } => {
                if !out.contains(&name.as_str()) {
                    out.push(name);
                }
            }
            Rule::Cmp { .. } => {}
            Rule::Not(r) => r.collect_unmodelled(out),
            Rule::And(a, b) | Rule::Or(a, b) => {
                a.collect_unmodelled(out);
                b.collect_unmodelled(out);
            }
        }
    }
}

fn compare(actual: Option<&str>, op: Op, value: &Literal) -> bool {
    let lower = |s: &str| s.to_ascii_lowercase();
    match (actual, value) {
        // An explicit null compares for absence (groups-dynamic-membership.md, "Use of Null
        // values"); only -eq and -ne are meaningful with it, the parser enforces that.
        (a, Literal::Null) => (op == Op::Ne) == a.is_some(),
        (None, _) => op.negative(),
        (Some(a), Literal::Text(v)) => {
            let (a, v) = (lower(a), lower(v));
            match op {
                Op::Eq => a == v,
                Op::Ne => a != v,
                Op::StartsWith => a.starts_with(&v),
                Op::NotStartsWith => !a.starts_with(&v),
                Op::EndsWith => a.ends_with(&v),
                Op::NotEndsWith => !a.ends_with(&v),
                Op::Contains => a.contains(&v),
                Op::NotContains => !a.contains(&v),
                // The parser gives -in/-notIn a list.
                Op::In => a == v,
                Op::NotIn => a != v,
            }
        }
        (Some(a), Literal::List(items)) => {
            let found = items.iter().any(|i| i.eq_ignore_ascii_case(a));
            match op {
                Op::NotIn | Op::Ne => !found,
                _ => found,
            }
        }
    }
}

/// A rule that could not be parsed: the message and the 1-based character column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    pub column: usize,
    pub message: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at column {}: {}", self.column, self.message)
    }
}

/// The lower-case name of a documented filter attribute that a population may give its
/// devices (without `device.`), or why it is not one.
pub fn attribute_name(name: &str) -> Result<String, String> {
    let lower = name
        .strip_prefix("device.")
        .unwrap_or(name)
        .to_ascii_lowercase();
    let extension = lower
        .strip_prefix("extensionattribute")
        .and_then(|n| n.parse::<u8>().ok())
        .is_some_and(|n| (1..=15).contains(&n));
    if matches!(
        lower.as_str(),
        "trusttype" | "iscompliant" | "operatingsystem" | "profiletype"
    ) {
        return Err(format!(
            "`{name}` follows from the device type, compliance and platform: set those instead"
        ));
    }
    if extension || DOCUMENTED.contains(&lower.as_str()) {
        Ok(lower)
    } else {
        let mut known: Vec<&str> = DOCUMENTED.to_vec();
        known.push("extensionattribute1");
        Err(crate::world::app::unknown_name(
            "device attribute",
            name,
            &known,
        ))
    }
}

/// Documented filter attributes (concept-condition-filters-for-devices.md), lower-case.
const DOCUMENTED: &[&str] = &[
    "deviceid",
    "displayname",
    "deviceownership",
    "enrollmentprofilename",
    "iscompliant",
    "manufacturer",
    "mdmappid",
    "model",
    "operatingsystem",
    "operatingsystemversion",
    "physicalids",
    "devicephysicalids",
    "profiletype",
    "systemlabels",
    "trusttype",
];

/// What [`parse`] found besides the rule: attribute names it does not recognise at all.
#[derive(Debug)]
pub struct Parsed {
    pub rule: Rule,
    /// Attribute names outside the documented list, each with a "did you mean" hint.
    pub unknown: Vec<String>,
}

/// Longest rule accepted, in characters: the limit Entra sets on the same rule language
/// for dynamic membership rules. It also bounds how long a flat `-or` chain can be, and so
/// the depth of the parsed tree (evaluation recurses over it).
pub const MAX_RULE_CHARS: usize = 3072;
/// Deepest nesting of parentheses and `-not` accepted: the parser and the evaluator recurse
/// once per level, so an adversarial rule must not exhaust the stack.
pub const MAX_DEPTH: usize = 64;

/// Parses a rule.
pub fn parse(text: &str) -> Result<Parsed, FilterError> {
    let chars = text.chars().count();
    if chars > MAX_RULE_CHARS {
        return Err(FilterError {
            column: MAX_RULE_CHARS + 1,
            message: format!(
                "the rule is {chars} characters long; at most {MAX_RULE_CHARS} are accepted"
            ),
        });
    }
    let tokens = lex(text)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        end: chars + 1,
        unknown: Vec::new(),
        depth: 0,
    };
    let rule = p.or()?;
    if let Some(t) = p.peek() {
        return Err(p.err_at(t.column, format!("unexpected `{}`", t.text)));
    }
    Ok(Parsed {
        rule,
        unknown: p.unknown,
    })
}

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    Open,
    Close,
    OpenList,
    CloseList,
    Comma,
    Str,
    Word,
}

#[derive(Clone, Debug)]
struct Token {
    kind: Kind,
    /// For words: the text without a leading hyphen. For strings: the unquoted value.
    text: String,
    column: usize,
}

fn lex(text: &str) -> Result<Vec<Token>, FilterError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        let single = |kind: Kind| Token {
            kind,
            text: c.to_string(),
            column,
        };
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(single(Kind::Open));
                i += 1;
            }
            ')' => {
                out.push(single(Kind::Close));
                i += 1;
            }
            '[' => {
                out.push(single(Kind::OpenList));
                i += 1;
            }
            ']' => {
                out.push(single(Kind::CloseList));
                i += 1;
            }
            ',' => {
                out.push(single(Kind::Comma));
                i += 1;
            }
            '"' | '\'' => {
                let quote = c;
                let mut value = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(FilterError {
                                column,
                                message: format!("string starting here has no closing {quote}"),
                            })
                        }
                        // A backtick escapes the next character; two single quotes stand
                        // for one inside a single-quoted string (groups-dynamic-membership).
                        Some('`') if chars.get(i + 1).is_some() => {
                            value.push(chars[i + 1]);
                            i += 2;
                        }
                        Some(&q) if q == quote => {
                            if quote == '\'' && chars.get(i + 1) == Some(&'\'') {
                                value.push('\'');
                                i += 2;
                            } else {
                                i += 1;
                                break;
                            }
                        }
                        Some(&other) => {
                            value.push(other);
                            i += 1;
                        }
                    }
                }
                out.push(Token {
                    kind: Kind::Str,
                    text: value,
                    column,
                });
            }
            _ => {
                // Words: attributes (`device.trustType`), operators (`-eq`, `eq`, and the
                // en dash `–eq` that Microsoft's own pages contain), bare values.
                let start = i;
                while i < chars.len()
                    && !chars[i].is_whitespace()
                    && !matches!(chars[i], '(' | ')' | '[' | ']' | ',' | '"' | '\'')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let stripped = word.trim_start_matches(['-', '\u{2013}', '\u{2014}']);
                let text = if stripped.is_empty() {
                    word.clone()
                } else {
                    stripped.to_string()
                };
                out.push(Token {
                    kind: Kind::Word,
                    text,
                    column,
                });
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// Column just past the end, for "unexpected end" errors.
    end: usize,
    unknown: Vec<String>,
    /// Current nesting of parentheses and `-not`.
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn err_at(&self, column: usize, message: impl Into<String>) -> FilterError {
        FilterError {
            column,
            message: message.into(),
        }
    }

    fn eof(&self, what: &str) -> FilterError {
        self.err_at(self.end, format!("the rule ends where {what} was expected"))
    }

    fn keyword(&self, word: &str) -> bool {
        self.peek()
            .is_some_and(|t| t.kind == Kind::Word && t.text.eq_ignore_ascii_case(word))
    }

    fn or(&mut self) -> Result<Rule, FilterError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.pos += 1;
            let right = self.and()?;
            left = Rule::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Rule, FilterError> {
        let mut left = self.not()?;
        while self.keyword("and") {
            self.pos += 1;
            let right = self.not()?;
            left = Rule::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// Enters one level of nesting at `column`, refusing rules nested deeper than
    /// [`MAX_DEPTH`].
    fn descend(&mut self, column: usize) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err_at(
                column,
                format!("the rule nests parentheses or -not more than {MAX_DEPTH} levels deep"),
            ));
        }
        Ok(())
    }

    fn not(&mut self) -> Result<Rule, FilterError> {
        if self.keyword("not") {
            let column = self.peek().map_or(self.end, |t| t.column);
            self.pos += 1;
            self.descend(column)?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Rule::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Rule, FilterError> {
        let Some(t) = self.next() else {
            return Err(self.eof("a comparison such as `device.trustType -eq \"AzureAD\"`"));
        };
        match t.kind {
            Kind::Open => {
                self.descend(t.column)?;
                let inner = self.or()?;
                self.depth -= 1;
                match self.next() {
                    Some(c) if c.kind == Kind::Close => Ok(inner),
                    Some(other) => Err(self.err_at(
                        other.column,
                        format!("expected `)`, found `{}`", other.text),
                    )),
                    None => {
                        Err(self.err_at(t.column, "the parenthesis opened here is never closed"))
                    }
                }
            }
            Kind::Word => self.comparison(t),
            _ => Err(self.err_at(
                t.column,
                format!(
                    "expected a comparison such as `device.trustType -eq \"AzureAD\"`, found `{}`",
                    t.text
                ),
            )),
        }
    }

    fn comparison(&mut self, attr_token: Token) -> Result<Rule, FilterError> {
        let attr = self.attribute(&attr_token)?;
        let op_token = self
            .next()
            .ok_or_else(|| self.eof("an operator such as -eq"))?;
        if op_token.kind != Kind::Word {
            return Err(self.err_at(
                op_token.column,
                format!(
                    "expected an operator such as -eq, found `{}`",
                    op_token.text
                ),
            ));
        }
        let op = Op::parse(&op_token.text).ok_or_else(|| {
            let hint = match op_token.text.to_ascii_lowercase().as_str() {
                "match" | "notmatch" => {
                    " (-match is not supported by filter for devices)".to_string()
                }
                _ => String::new(),
            };
            self.err_at(
                op_token.column,
                format!(
                    "unknown operator `-{}`: use -eq, -ne, -startsWith, -notStartsWith, -endsWith, -notEndsWith, -contains, -notContains, -in or -notIn{hint}",
                    op_token.text
                ),
            )
        })?;
        let value = self.literal()?;
        match (&value, op) {
            (Literal::List(_), Op::In | Op::NotIn | Op::Eq | Op::Ne) => {}
            (Literal::List(_), _) => {
                return Err(self.err_at(
                    op_token.column,
                    format!("-{} compares with one value, not a list", op_token.text),
                ))
            }
            (Literal::Text(_), Op::In | Op::NotIn) => {
                return Err(self.err_at(
                    op_token.column,
                    format!(
                        "-{} needs a list of values in brackets, e.g. [\"AzureAD\", \"ServerAD\"]",
                        op_token.text
                    ),
                ))
            }
            (Literal::Null, Op::Eq | Op::Ne) => {}
            (Literal::Null, _) => {
                return Err(
                    self.err_at(op_token.column, "null can only be compared with -eq or -ne")
                )
            }
            _ => {}
        }
        Ok(Rule::Cmp { attr, op, value })
    }

    fn attribute(&mut self, t: &Token) -> Result<Attr, FilterError> {
        let Some(name) = t
            .text
            .strip_prefix("device.")
            .or_else(|| t.text.strip_prefix("Device."))
        else {
            return Err(self.err_at(
                t.column,
                format!(
                    "expected a device attribute such as `device.trustType`, found `{}`",
                    t.text
                ),
            ));
        };
        let lower = name.to_ascii_lowercase();
        Ok(match lower.as_str() {
            "trusttype" => Attr::TrustType,
            "iscompliant" => Attr::IsCompliant,
            "operatingsystem" => Attr::OperatingSystem,
            "profiletype" => Attr::ProfileType,
            "deviceownership" => Attr::DeviceOwnership,
            _ => {
                let extension = lower
                    .strip_prefix("extensionattribute")
                    .and_then(|n| n.parse::<u8>().ok())
                    .is_some_and(|n| (1..=15).contains(&n));
                if !extension && !DOCUMENTED.contains(&lower.as_str()) {
                    let mut known: Vec<&str> = DOCUMENTED.to_vec();
                    known.push("extensionattribute1");
                    let hint = did_you_mean(&lower, &known)
                        .map(|k| format!("; did you mean `device.{k}`?"))
                        .unwrap_or_default();
                    self.unknown.push(format!(
                        "`device.{name}` is not a documented attribute{hint}"
                    ));
                }
                Attr::Unmodelled(format!("device.{name}"))
            }
        })
    }

    fn literal(&mut self) -> Result<Literal, FilterError> {
        let t = self.next().ok_or_else(|| self.eof("a value"))?;
        match t.kind {
            Kind::Str => Ok(Literal::Text(t.text)),
            Kind::Word => {
                if t.text.eq_ignore_ascii_case("null") || t.text.eq_ignore_ascii_case("$null") {
                    Ok(Literal::Null)
                } else {
                    // Bare values: true/false, numbers, and unquoted words Entra tolerates.
                    Ok(Literal::Text(t.text))
                }
            }
            Kind::OpenList => {
                let mut items = Vec::new();
                loop {
                    let item = self.next().ok_or_else(|| self.eof("`]`"))?;
                    match item.kind {
                        Kind::CloseList if items.is_empty() => break,
                        Kind::Str | Kind::Word => items.push(item.text),
                        _ => {
                            return Err(self.err_at(
                                item.column,
                                format!("expected a value in the list, found `{}`", item.text),
                            ))
                        }
                    }
                    let sep = self.next().ok_or_else(|| self.eof("`,` or `]`"))?;
                    match sep.kind {
                        Kind::Comma => {}
                        Kind::CloseList => break,
                        _ => {
                            return Err(self.err_at(
                                sep.column,
                                format!("expected `,` or `]`, found `{}`", sep.text),
                            ))
                        }
                    }
                }
                Ok(Literal::List(items))
            }
            _ => Err(self.err_at(t.column, format!("expected a value, found `{}`", t.text))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(trust: DeviceTrust, compliant: bool) -> DeviceFacts<'static> {
        DeviceFacts {
            attributes: &[],
            trust,
            compliant,
            platform: Platform::Windows,
        }
    }

    fn eval(rule: &str, d: DeviceFacts) -> bool {
        parse(rule).unwrap().rule.matches(&d)
    }

    #[test]
    fn device_ownership_follows_the_join_unless_the_population_sets_it() {
        // The j0eyv baseline's "unmanaged devices" policies exclude
        // `device.deviceOwnership -eq "Company"`: with ownership null they also applied
        // to every corporate joined device.
        let rule = "device.deviceOwnership -eq \"Company\"";
        assert!(eval(rule, device(DeviceTrust::EntraJoined, false)));
        assert!(eval(rule, device(DeviceTrust::HybridJoined, false)));
        assert!(eval(
            "device.deviceOwnership -eq \"Personal\"",
            device(DeviceTrust::Registered, true)
        ));
        // An unregistered device has no attributes at all.
        assert!(!eval(rule, device(DeviceTrust::Unmanaged, false)));
        assert!(eval(
            "device.deviceOwnership -ne \"Company\"",
            device(DeviceTrust::Unmanaged, false)
        ));
        // A persona's own value wins: a corporate phone that is only registered.
        let owned = [("deviceownership".to_string(), "Company".to_string())];
        let phone = DeviceFacts {
            attributes: &owned,
            ..device(DeviceTrust::Registered, true)
        };
        assert!(eval(rule, phone));
        assert!(parse(rule).unwrap().rule.unmodelled().is_empty());
    }

    #[test]
    fn compares_trust_type_and_compliance() {
        let joined = device(DeviceTrust::EntraJoined, true);
        assert!(eval("device.trustType -eq \"AzureAD\"", joined));
        assert!(!eval("device.trustType -eq 'ServerAD'", joined));
        assert!(eval("device.isCompliant -eq True", joined));
        assert!(eval("device.isCompliant -eq \"true\"", joined));
        assert!(!eval("device.isCompliant -ne True", joined));
    }

    #[test]
    fn unregistered_devices_have_null_attributes() {
        let unmanaged = device(DeviceTrust::Unmanaged, false);
        // Positive operators are false, negative ones true (filters-for-devices page).
        assert!(!eval("device.isCompliant -eq False", unmanaged));
        assert!(eval("device.isCompliant -ne True", unmanaged));
        assert!(!eval(
            "device.trustType -in [\"AzureAD\", \"ServerAD\"]",
            unmanaged
        ));
        assert!(eval(
            "device.trustType -notIn [\"AzureAD\", \"ServerAD\"]",
            unmanaged
        ));
        assert!(eval("device.trustType -eq null", unmanaged));
        assert!(!eval("device.trustType -ne null", unmanaged));
    }

    #[test]
    fn and_binds_tighter_than_or_and_parentheses_override() {
        let registered = device(DeviceTrust::Registered, false);
        // true -or (false -and false) = true
        assert!(eval(
            "device.trustType -eq \"Workplace\" -or device.isCompliant -eq True -and device.trustType -eq \"AzureAD\"",
            registered
        ));
        // (true -or false) -and false = false
        assert!(!eval(
            "(device.trustType -eq \"Workplace\" -or device.isCompliant -eq True) -and device.trustType -eq \"AzureAD\"",
            registered
        ));
        assert!(eval("-not (device.trustType -eq \"AzureAD\")", registered));
    }

    #[test]
    fn operators_without_hyphen_en_dash_and_any_case() {
        let hybrid = device(DeviceTrust::HybridJoined, false);
        assert!(eval("device.trustType eq \"ServerAD\"", hybrid));
        assert!(eval("device.trustType \u{2013}EQ \"serverad\"", hybrid));
        assert!(eval(
            "device.trustType -startsWith \"Server\" -AND device.operatingSystem -eq \"Windows\"",
            hybrid
        ));
        assert!(eval("device.trustType -contains \"erv\"", hybrid));
    }

    #[test]
    fn unmodelled_attributes_are_null_and_reported() {
        let joined = device(DeviceTrust::EntraJoined, true);
        let parsed =
            parse("device.extensionAttribute1 -eq \"SAW\" -or device.model -ne \"x\"").unwrap();
        assert_eq!(
            parsed.rule.unmodelled(),
            vec!["device.extensionAttribute1", "device.model"]
        );
        assert!(parsed.unknown.is_empty());
        assert!(!eval("device.extensionAttribute1 -eq \"SAW\"", joined));
        assert!(eval("device.extensionAttribute1 -ne \"SAW\"", joined));
        let typo = parse("device.trustTyp -eq \"AzureAD\"").unwrap();
        assert!(
            typo.unknown[0].contains("did you mean `device.trusttype`"),
            "{:?}",
            typo.unknown
        );
    }

    #[test]
    fn syntax_errors_name_the_column() {
        let e = parse("device.trustType -eq").unwrap_err();
        assert!(e.message.contains("value"), "{e}");
        let e = parse("device.trustType -like \"x\"").unwrap_err();
        assert_eq!(e.column, 18);
        let e = parse("(device.trustType -eq \"x\"").unwrap_err();
        assert_eq!(e.column, 1);
        let e = parse("trustType -eq \"x\"").unwrap_err();
        assert!(e.message.contains("device attribute"), "{e}");
        let e = parse("device.trustType -in \"x\"").unwrap_err();
        assert!(e.message.contains("list"), "{e}");
        let e = parse("device.trustType -eq \"x").unwrap_err();
        assert!(e.message.contains("closing"), "{e}");
        let e = parse("device.trustType -eq \"x\" \"y\"").unwrap_err();
        assert!(e.message.contains("unexpected"), "{e}");
        assert!(parse("").is_err());
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        // Regression: 8,400 parentheses and 20,000 chained -not overflowed the stack.
        let deep = format!(
            "{}device.isCompliant -eq True{}",
            "(".repeat(100),
            ")".repeat(100)
        );
        assert!(parse(&deep).unwrap_err().message.contains("levels deep"));
        let nots = format!("{}device.isCompliant -eq True", "-not ".repeat(100));
        assert!(parse(&nots).unwrap_err().message.contains("levels deep"));
        let ok = format!(
            "{}device.isCompliant -eq True{}",
            "(".repeat(60),
            ")".repeat(60)
        );
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn over_long_rules_are_refused() {
        // Regression: a flat -or chain of 33,000 comparisons overflowed the stack in `run`.
        let chain = vec!["device.isCompliant -eq True"; 33_000].join(" -or ");
        let err = parse(&chain).unwrap_err();
        assert!(err.message.contains("at most 3072"), "{}", err.message);
        let longest = vec!["device.isCompliant -eq True"; 90].join(" -or ");
        assert!(longest.chars().count() <= MAX_RULE_CHARS);
        let parsed = parse(&longest).unwrap();
        assert!(parsed.rule.matches(&device(DeviceTrust::EntraJoined, true)));
    }

    #[test]
    fn escapes_in_strings() {
        let p = parse("device.model -eq 'O''Brien' -or device.model -eq \"a`\"b\"").unwrap();
        match p.rule {
            Rule::Or(a, b) => {
                assert!(
                    matches!(*a, Rule::Cmp { value: Literal::Text(ref s), .. } if s == "O'Brien")
                );
                assert!(matches!(*b, Rule::Cmp { value: Literal::Text(ref s), .. } if s == "a\"b"));
            }
            other => panic!("{other:?}"),
        }
    }
}
