//! Path templates with `{param}` segments, method filters, and picking the route a request goes to.
//!
//! Matching follows the API gateway's reading (project decision):
//! - a template's literal segments match exactly, a `{param}` segment matches one non-empty
//!   segment (its value is percent-decoded into `pathParameters`);
//! - a template also matches longer paths under it (prefix matching at segment boundaries), so a
//!   route on `/` serves every path, as the gateway does for an API on `/`;
//! - the most specific template wins: an exact match before a prefix match, then more segments,
//!   then more literal segments; ties go to the route configured first;
//! - no template matches the path: 404; templates match but none accepts the method: 405.

use std::fmt;

use http::Method;

/// One segment of a [`PathTemplate`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

/// A parsed route path such as `/users/{id}/books`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTemplate {
    raw: String,
    segments: Vec<Segment>,
}

/// A path template or method list that cannot be used, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteError {
    key: Option<String>,
    problem: String,
}

impl RouteError {
    fn new(problem: impl Into<String>) -> Self {
        RouteError {
            key: None,
            problem: problem.into(),
        }
    }

    /// An error about the config key `key`; the message reads `key: problem`.
    pub fn new_keyed(key: &str, problem: impl fmt::Display) -> Self {
        RouteError {
            key: Some(key.to_owned()),
            problem: problem.to_string(),
        }
    }

    /// The config key at fault, when the error is about one.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// What is wrong, without the key.
    pub fn problem(&self) -> &str {
        &self.problem
    }
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(key) => write!(f, "{key}: {}", self.problem),
            None => f.write_str(&self.problem),
        }
    }
}

impl std::error::Error for RouteError {}

fn split_path(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

impl PathTemplate {
    /// Parses a template. It must start with `/`; a `{name}` segment is a parameter (names are
    /// letters, digits, `_` and `-`, unique within the template).
    pub fn parse(raw: &str) -> Result<PathTemplate, RouteError> {
        if !raw.starts_with('/') {
            return Err(RouteError::new(format!("path {raw:?} must start with '/'")));
        }
        let mut segments = Vec::new();
        for seg in split_path(raw) {
            if let Some(inner) = seg.strip_prefix('{') {
                let Some(name) = inner.strip_suffix('}') else {
                    return Err(RouteError::new(format!(
                        "path {raw:?}: segment {seg:?} opens '{{' but does not end with '}}'"
                    )));
                };
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    return Err(RouteError::new(format!(
                        "path {raw:?}: parameter {seg:?} needs a name of letters, digits, '_' or '-'"
                    )));
                }
                if segments
                    .iter()
                    .any(|s| matches!(s, Segment::Param(p) if p == name))
                {
                    return Err(RouteError::new(format!(
                        "path {raw:?}: parameter {{{name}}} appears twice"
                    )));
                }
                segments.push(Segment::Param(name.to_owned()));
            } else if seg.contains(['{', '}']) {
                return Err(RouteError::new(format!(
                    "path {raw:?}: segment {seg:?} mixes text and braces; a parameter is a whole segment like {{name}}"
                )));
            } else {
                segments.push(Segment::Literal(seg.to_owned()));
            }
        }
        Ok(PathTemplate {
            raw: raw.to_owned(),
            segments,
        })
    }

    /// The template as configured.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The template with every parameter written `{}`: two templates of one shape match the same
    /// paths.
    pub fn shape(&self) -> String {
        let mut out = String::new();
        for seg in &self.segments {
            out.push('/');
            match seg {
                Segment::Literal(lit) => out.push_str(lit),
                Segment::Param(_) => out.push_str("{}"),
            }
        }
        out
    }

    /// The parameter names, in order.
    pub fn params(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Param(p) => Some(p.as_str()),
            Segment::Literal(_) => None,
        })
    }

    /// Matches `path` (no query string). On a match, returns its [`Specificity`] and the path
    /// parameters (percent-decoded).
    pub fn matches(&self, path: &str) -> Option<(Specificity, Vec<(String, String)>)> {
        let mut given = split_path(path);
        let mut params = Vec::new();
        let mut literals = 0;
        for seg in &self.segments {
            let actual = given.next()?;
            match seg {
                Segment::Literal(lit) => {
                    if lit != actual {
                        return None;
                    }
                    literals += 1;
                }
                Segment::Param(name) => {
                    let value = percent_encoding::percent_decode_str(actual)
                        .decode_utf8_lossy()
                        .into_owned();
                    params.push((name.clone(), value));
                }
            }
        }
        let exact = given.next().is_none();
        Some((
            Specificity {
                exact,
                segments: self.segments.len(),
                literals,
            },
            params,
        ))
    }
}

/// How closely a template matched a path; greater is more specific.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Specificity {
    exact: bool,
    segments: usize,
    literals: usize,
}

impl Specificity {
    /// Whether the template matched the whole path (not a prefix of it).
    pub fn is_exact(&self) -> bool {
        self.exact
    }
}

/// The methods a route accepts: any, or a fixed list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Methods {
    /// Every method (`ANY`, or no `methods` key).
    #[default]
    Any,
    /// Only these (upper-case).
    Only(Vec<Method>),
}

impl Methods {
    /// Parses a config list such as `["GET", "post"]`. Empty or containing `ANY` means any method.
    pub fn parse<S: AsRef<str>>(list: &[S]) -> Result<Methods, RouteError> {
        let mut out = Vec::new();
        for m in list {
            let upper = m.as_ref().trim().to_ascii_uppercase();
            if upper == "ANY" {
                return Ok(Methods::Any);
            }
            const KNOWN: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];
            if !KNOWN.contains(&upper.as_str()) {
                return Err(RouteError::new(format!(
                    "method {:?} is not one of ANY, {}",
                    m.as_ref(),
                    KNOWN.join(", ")
                )));
            }
            let method = Method::from_bytes(upper.as_bytes())
                .map_err(|_| RouteError::new(format!("method {:?} is invalid", m.as_ref())))?;
            if !out.contains(&method) {
                out.push(method);
            }
        }
        if out.is_empty() {
            Ok(Methods::Any)
        } else {
            Ok(Methods::Only(out))
        }
    }

    /// Whether `method` is accepted. A route that accepts `GET` also answers `HEAD`.
    pub fn allows(&self, method: &Method) -> bool {
        match self {
            Methods::Any => true,
            Methods::Only(list) => {
                list.contains(method) || (method == Method::HEAD && list.contains(&Method::GET))
            }
        }
    }

    /// Whether some method is accepted by both lists.
    pub fn overlaps(&self, other: &Methods) -> bool {
        match (self, other) {
            (Methods::Only(a), Methods::Only(b)) => a.iter().any(|m| b.contains(m)),
            _ => true,
        }
    }

    /// The value for `requestContext.httpMethod`: the single configured method, else `ANY`.
    pub fn context_name(&self) -> String {
        match self {
            Methods::Only(list) if list.len() == 1 => list[0].to_string(),
            _ => "ANY".to_owned(),
        }
    }

    /// The `Allow` header value for a 405 answer.
    pub fn allow_header(&self) -> String {
        match self {
            Methods::Any => "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS".to_owned(),
            Methods::Only(list) => list
                .iter()
                .map(Method::as_str)
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// Where a request goes among a list of routes.
#[derive(Debug, PartialEq, Eq)]
pub enum RouteMatch {
    /// The route at this index, with its path parameters.
    Found(usize, Vec<(String, String)>),
    /// Some templates match the path but none accepts the method; the `Allow` header value.
    MethodNotAllowed(String),
    /// No template matches the path.
    NotFound,
}

/// Picks the route for `method` and `path` among `(template, methods)` pairs, by the rules in
/// the module docs.
pub fn pick<'a>(
    routes: impl IntoIterator<Item = (&'a PathTemplate, &'a Methods)>,
    method: &Method,
    path: &str,
) -> RouteMatch {
    type Best = (Specificity, usize, Vec<(String, String)>);
    let mut best: Option<Best> = None;
    let mut path_matched = false;
    let mut allow: Vec<String> = Vec::new();
    for (i, (template, methods)) in routes.into_iter().enumerate() {
        let Some((spec, params)) = template.matches(path) else {
            continue;
        };
        path_matched = true;
        if !methods.allows(method) {
            let header = methods.allow_header();
            for m in header.split(", ") {
                if !allow.iter().any(|a| a == m) {
                    allow.push(m.to_owned());
                }
            }
            continue;
        }
        if best.as_ref().is_none_or(|(b, _, _)| spec > *b) {
            best = Some((spec, i, params));
        }
    }
    match best {
        Some((_, i, params)) => RouteMatch::Found(i, params),
        None if path_matched => RouteMatch::MethodNotAllowed(allow.join(", ")),
        None => RouteMatch::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> PathTemplate {
        PathTemplate::parse(s).unwrap()
    }

    #[test]
    fn templates_parse_and_reject_bad_forms() {
        let tpl = t("/users/{id}/books/{book_id}");
        assert_eq!(tpl.params().collect::<Vec<_>>(), ["id", "book_id"]);
        for bad in ["users", "/a/{", "/a/{}", "/a/x{y}", "/{a}/{a}", "/{a b}"] {
            let err = PathTemplate::parse(bad).unwrap_err();
            assert!(err.to_string().contains(bad), "{err}");
        }
    }

    #[test]
    fn params_are_extracted_and_decoded() {
        let (spec, params) = t("/hello/{name}").matches("/hello/J%C3%BCrgen").unwrap();
        assert!(spec.exact);
        assert_eq!(params, [("name".to_owned(), "Jürgen".to_owned())]);
        assert!(t("/hello/{name}").matches("/hello").is_none());
        assert!(t("/hello/{name}").matches("/hello/").is_none());
    }

    #[test]
    fn prefix_matching_and_specificity() {
        let root = t("/");
        let api = t("/api");
        let user = t("/api/users/{id}");
        let me = t("/api/users/me");
        let any = Methods::Any;
        let routes = [(&root, &any), (&api, &any), (&user, &any), (&me, &any)];
        let get = Method::GET;
        assert_eq!(
            pick(routes, &get, "/api/users/me"),
            RouteMatch::Found(3, vec![])
        );
        assert_eq!(
            pick(routes, &get, "/api/users/7"),
            RouteMatch::Found(2, vec![("id".into(), "7".into())])
        );
        assert_eq!(
            pick(routes, &get, "/api/other/x"),
            RouteMatch::Found(1, vec![])
        );
        assert_eq!(
            pick(routes, &get, "/elsewhere"),
            RouteMatch::Found(0, vec![])
        );
        assert_eq!(pick([(&api, &any)], &get, "/apix"), RouteMatch::NotFound);
    }

    #[test]
    fn method_filters_give_405_with_allow() {
        let echo = t("/echo");
        let post = Methods::parse(&["post"]).unwrap();
        let get = Methods::parse(&["GET", "PUT"]).unwrap();
        let routes = [(&echo, &post), (&echo, &get)];
        assert_eq!(
            pick(routes, &Method::POST, "/echo"),
            RouteMatch::Found(0, vec![])
        );
        assert_eq!(
            pick(routes, &Method::HEAD, "/echo"),
            RouteMatch::Found(1, vec![])
        );
        assert_eq!(
            pick(routes, &Method::DELETE, "/echo"),
            RouteMatch::MethodNotAllowed("POST, GET, PUT".into())
        );
        assert_eq!(pick(routes, &Method::DELETE, "/nope"), RouteMatch::NotFound);
    }

    #[test]
    fn methods_parse() {
        assert_eq!(Methods::parse::<&str>(&[]).unwrap(), Methods::Any);
        assert_eq!(Methods::parse(&["GET", "any"]).unwrap(), Methods::Any);
        assert_eq!(Methods::parse(&["GET"]).unwrap().context_name(), "GET");
        assert_eq!(
            Methods::parse(&["GET", "POST"]).unwrap().context_name(),
            "ANY"
        );
        let err = Methods::parse(&["FETCH"]).unwrap_err();
        assert!(err.to_string().contains("FETCH"), "{err}");
    }
}
