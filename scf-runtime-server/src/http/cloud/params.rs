//! Reading a Cloud API call's parameters (the JSON object of its body).

use std::ops::Range;

use serde_json::{Map, Value};

use super::ApiError;
use crate::durable::parse_scf_time;
use crate::host::Host;

/// The parameters of one call. An absent parameter and `null` are the same.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Params<'a>(&'a Map<String, Value>);

impl<'a> Params<'a> {
    pub(crate) fn new(params: &'a Map<String, Value>) -> Params<'a> {
        Params(params)
    }

    fn get(self, name: &str) -> Option<&'a Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    /// A string parameter.
    pub(crate) fn str(self, name: &str) -> Result<Option<&'a str>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::invalid_value(format!("{name} must be a string"))),
        }
    }

    /// A string parameter that must be there and not empty.
    pub(crate) fn required(self, name: &str) -> Result<&'a str, ApiError> {
        self.str(name)?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::missing(name))
    }

    /// A list of strings (one string is a list of one).
    pub(crate) fn strings(self, name: &str) -> Result<Vec<String>, ApiError> {
        let not_strings = || ApiError::invalid_value(format!("{name} must be an array of strings"));
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(vec![s.clone()]),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned).ok_or_else(not_strings))
                .collect(),
            Some(_) => Err(not_strings()),
        }
    }

    /// A nested object, as parameters of its own.
    pub(crate) fn object(self, name: &str) -> Result<Option<Params<'a>>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(Params(m))),
            Some(_) => Err(ApiError::invalid_value(format!("{name} must be an object"))),
        }
    }

    /// A list of objects.
    pub(crate) fn objects(self, name: &str) -> Result<Vec<Params<'a>>, ApiError> {
        let not_objects = || ApiError::invalid_value(format!("{name} must be an array of objects"));
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_object().map(Params).ok_or_else(not_objects))
                .collect(),
            Some(_) => Err(not_objects()),
        }
    }

    /// A number (a numeric string is taken too).
    pub(crate) fn f64(self, name: &str) -> Result<Option<f64>, ApiError> {
        self.get(name)
            .map(|v| {
                v.as_f64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                    .filter(|n: &f64| n.is_finite())
                    .ok_or_else(|| ApiError::invalid_value(format!("{name} must be a number")))
            })
            .transpose()
    }

    /// An integer within `range`, refused with `InvalidParameterValue.<name>` outside it.
    pub(crate) fn int_in(
        self,
        name: &str,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<Option<u64>, ApiError> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        match v.as_u64() {
            Some(n) if range.contains(&n) => Ok(Some(n)),
            _ => Err(ApiError {
                code: invalid_value_code(name),
                message: format!(
                    "{name} must be an integer from {} to {}, got {v}",
                    range.start(),
                    range.end()
                ),
            }),
        }
    }

    /// A non-negative integer.
    pub(crate) fn usize(self, name: &str) -> Result<Option<usize>, ApiError> {
        self.get(name)
            .map(|v| {
                v.as_u64().map(|n| n as usize).ok_or_else(|| {
                    ApiError::invalid_value(format!("{name} must be a non-negative integer"))
                })
            })
            .transpose()
    }

    /// `{"Start", "End"}` (`%Y-%m-%d %H:%M:%S`, either may be missing) as Unix ms, the end
    /// second included.
    pub(crate) fn interval(self, name: &str) -> Result<Option<Range<u64>>, ApiError> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        let object = value.as_object().map(Params::new).ok_or_else(|| {
            ApiError::invalid_value(format!("{name} must be an object with Start and End"))
        })?;
        let time = |key: &str| -> Result<Option<u64>, ApiError> {
            object
                .str(key)?
                .map(|t| {
                    parse_scf_time(t)
                        .map_err(|e| ApiError::invalid_value(format!("{name}.{key}: {e}")))
                })
                .transpose()
        };
        let start = time("Start")?.unwrap_or(0);
        let end = time("End")?.map_or(u64::MAX, |e| e.saturating_add(1));
        Ok(Some(start..end))
    }

    /// The `Qualifier` (`None` when absent or empty), refused with
    /// `ResourceNotFound.Qualifier` when `function` has no such version or alias (and with
    /// `ResourceNotFound.Function` when there is no such function).
    pub(crate) fn qualifier(
        self,
        host: &Host,
        function: &str,
    ) -> Result<Option<&'a str>, ApiError> {
        let qualifier = self
            .str("Qualifier")?
            .map(str::trim)
            .filter(|q| !q.is_empty());
        if !host.has_function(function) {
            return Err(ApiError::new(
                "ResourceNotFound.Function",
                format!("function {function} does not exist"),
            ));
        }
        match qualifier {
            Some(q) if host.resolve(function, Some(q)).is_none() => Err(ApiError::new(
                "ResourceNotFound.Qualifier",
                format!("function {function} has no version or alias {q}"),
            )),
            q => Ok(q),
        }
    }
}

/// `InvalidParameterValue.<name>` for the parameters the control plane checks.
pub(crate) fn invalid_value_code(name: &str) -> &'static str {
    match name {
        "MemorySize" => "InvalidParameterValue.MemorySize",
        "Timeout" => "InvalidParameterValue.Timeout",
        "InitTimeout" => "InvalidParameterValue.InitTimeout",
        "ReservedConcurrencyMem" => "InvalidParameterValue.ReservedConcurrencyMem",
        "VersionProvisionedConcurrencyNum" => {
            "InvalidParameterValue.VersionProvisionedConcurrencyNum"
        }
        "MaxConcurrency" => "InvalidParameterValue.MaxConcurrency",
        "RetryNum" => "InvalidParameterValue.RetryNum",
        "MsgTTL" => "InvalidParameterValue.MsgTTL",
        "Offset" | "Limit" => "InvalidParameterValue.Limit",
        _ => "InvalidParameterValue",
    }
}
