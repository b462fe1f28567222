//! `--metrics-push URL`: the same exposition as `--metrics`, sent to a Prometheus Pushgateway
//! under the grouping key `job` (and `instance` when given), over plain HTTP with a timeout.
//!
//! The kept series (the last success's timestamp and output sizes) come from the `--metrics`
//! file when there is one, else from the Pushgateway's own `/api/v1/metrics` ([`PushTarget::previous`]);
//! the group is then replaced (`PUT`). When they cannot be read, only the series sent are
//! replaced (`POST`), so that the kept ones stay as the last successful run pushed them.
//! Failures are returned for the caller to warn about: they never fail the copy.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE;
use base64::Engine as _;

use super::metrics::{
    Previous, LAST_SUCCESS_OUTPUT, LAST_SUCCESS_TIMESTAMP, PREVIOUS_SUCCESS_OUTPUT,
};

/// Where to push.
#[derive(Debug, Clone)]
pub struct PushTarget {
    /// The Pushgateway's base URL, e.g. `http://pushgateway.monitoring:9091`.
    pub url: String,
    /// The `job` grouping label.
    pub job: String,
    /// The `instance` grouping label, if any.
    pub instance: Option<String>,
    /// Bounds each request (connect, send, receive).
    pub timeout: Duration,
}

/// Why a push (or reading the kept series back) failed. Messages name the URL without any
/// `user:password@` part.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// Only `http://` URLs are supported (no TLS in this build).
    #[error("{0}: only http:// Pushgateway URLs are supported")]
    Scheme(String),
    /// The request failed (connection, timeout).
    #[error("{url}: {message}")]
    Request {
        /// The redacted URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The Pushgateway answered with an error status.
    #[error("{url}: the Pushgateway answered HTTP {status}: {body}")]
    Status {
        /// The redacted URL.
        url: String,
        /// The status code.
        status: u16,
        /// The start of its answer.
        body: String,
    },
}

impl PushTarget {
    /// The group's URL: `/metrics/job@base64/…[/instance@base64/…]` (base64url, so that any
    /// label value, `/` included, is safe in the path).
    pub fn group_url(&self) -> String {
        let enc = |v: &str| {
            if v.is_empty() {
                "=".to_owned()
            } else {
                URL_SAFE.encode(v)
            }
        };
        let mut url = format!(
            "{}/metrics/job@base64/{}",
            self.url.trim_end_matches('/'),
            enc(&self.job)
        );
        if let Some(instance) = &self.instance {
            url.push_str("/instance@base64/");
            url.push_str(&enc(instance));
        }
        url
    }

    fn agent(&self) -> Result<ureq::Agent, PushError> {
        if !self.url.starts_with("http://") {
            return Err(PushError::Scheme(redact(&self.url)));
        }
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(self.timeout))
            .http_status_as_error(false)
            .build();
        Ok(config.into())
    }

    /// Sends `text` (a text exposition): `PUT` (replace the group) when `replace`, else `POST`
    /// (replace only the series sent).
    pub fn push(&self, text: &str, replace: bool) -> Result<(), PushError> {
        let agent = self.agent()?;
        let url = self.group_url();
        let request = if replace {
            agent.put(&url)
        } else {
            agent.post(&url)
        };
        let response = request
            .header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            .send(text.as_bytes())
            .map_err(|e| request_error(&url, &e))?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        let body = response
            .into_body()
            .read_to_string()
            .unwrap_or_default()
            .chars()
            .take(300)
            .collect::<String>();
        Err(PushError::Status {
            url: redact(&url),
            status,
            body: body.trim().to_owned(),
        })
    }

    /// The kept series of this group as the Pushgateway holds them (`GET /api/v1/metrics`).
    pub fn previous(&self) -> Result<Previous, PushError> {
        let agent = self.agent()?;
        let url = format!("{}/api/v1/metrics", self.url.trim_end_matches('/'));
        let response = agent
            .get(&url)
            .call()
            .map_err(|e| request_error(&url, &e))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .read_to_string()
            .map_err(|e| request_error(&url, &e))?;
        if status != 200 {
            return Err(PushError::Status {
                url: redact(&url),
                status,
                body: body.chars().take(300).collect(),
            });
        }
        Ok(self.previous_from_api(&body))
    }

    /// Picks this group's kept series out of an `/api/v1/metrics` answer.
    fn previous_from_api(&self, body: &str) -> Previous {
        let mut p = Previous::default();
        let Ok(json) = serde_json::from_str::<serde_json::Value>(body) else {
            return p;
        };
        let groups = json["data"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        let instance = self.instance.as_deref().unwrap_or("");
        let group = groups.iter().find(|g| {
            g["labels"]["job"].as_str() == Some(self.job.as_str())
                && g["labels"]["instance"].as_str().unwrap_or("") == instance
                && g["labels"]
                    .as_object()
                    .is_some_and(|l| l.keys().all(|k| k == "job" || k == "instance"))
        });
        let Some(group) = group else {
            return p;
        };
        let value = |name: &str| {
            group[name]["metrics"][0]["value"]
                .as_str()
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| v.is_finite())
        };
        p.last_success_timestamp = value(LAST_SUCCESS_TIMESTAMP);
        p.last_success_output_bytes = value(LAST_SUCCESS_OUTPUT);
        p.previous_success_output_bytes = value(PREVIOUS_SUCCESS_OUTPUT);
        p
    }
}

fn request_error(url: &str, e: &ureq::Error) -> PushError {
    PushError::Request {
        url: redact(url),
        message: redact(&e.to_string()),
    }
}

/// `url` without a `user:password@` part (anywhere in a message).
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        out.push_str(&rest[..i + 3]);
        rest = &rest[i + 3..];
        let end = rest
            .find(|c: char| c == '/' || c.is_whitespace())
            .unwrap_or(rest.len());
        if let Some(at) = rest[..end].rfind('@') {
            out.push_str("<redacted>@");
            rest = &rest[at + 1..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(instance: Option<&str>) -> PushTarget {
        PushTarget {
            url: "http://gw:9091/".into(),
            job: "snap/shot".into(),
            instance: instance.map(str::to_owned),
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn group_url_encodes_labels_in_base64url() {
        assert_eq!(
            target(None).group_url(),
            "http://gw:9091/metrics/job@base64/c25hcC9zaG90"
        );
        assert_eq!(
            target(Some("")).group_url(),
            "http://gw:9091/metrics/job@base64/c25hcC9zaG90/instance@base64/="
        );
    }

    #[test]
    fn redact_removes_credentials() {
        assert_eq!(
            redact("http://user:secret@gw:9091/metrics and https://x@y/z"),
            "http://<redacted>@gw:9091/metrics and https://<redacted>@y/z"
        );
        assert_eq!(redact("http://gw:9091/a@b"), "http://gw:9091/a@b");
    }

    #[test]
    fn https_is_refused_without_a_request() {
        let t = PushTarget {
            url: "https://user:pw@gw".into(),
            ..target(None)
        };
        let e = t.push("", true).unwrap_err().to_string();
        assert!(e.contains("only http://"), "{e}");
        assert!(!e.contains("pw"), "{e}");
    }

    #[test]
    fn previous_is_read_from_the_matching_group_only() {
        let body = r#"{"status":"success","data":[
          {"labels":{"job":"snap/shot","instance":"other"},
           "syrf_anonymize_last_success_output_bytes":{"metrics":[{"value":"1"}]}},
          {"labels":{"job":"snap/shot","instance":"a"},
           "syrf_anonymize_last_success_timestamp_seconds":{"metrics":[{"value":"1.5e9"}]},
           "syrf_anonymize_last_success_output_bytes":{"metrics":[{"value":"2048"}]}}]}"#;
        let p = target(Some("a")).previous_from_api(body);
        assert_eq!(p.last_success_timestamp, Some(1.5e9));
        assert_eq!(p.last_success_output_bytes, Some(2048.0));
        assert_eq!(p.previous_success_output_bytes, None);
        assert_eq!(target(None).previous_from_api(body), Previous::default());
        assert_eq!(
            target(None).previous_from_api("not json"),
            Previous::default()
        );
    }
}
