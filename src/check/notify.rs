//! Sending `tally check` notifications: Slack incoming webhooks, generic JSON webhooks (ureq) and
//! e-mail over SMTP (lettre). Every send is bounded: a 10-second timeout per attempt and at most
//! three attempts with a short back-off; a failure is reported and leaves the notice unsent in
//! the state, so the next run retries it.

use std::time::Duration;
use tally_core::targets::state::Notice;
use tally_core::targets::{Checks, Endpoints, SmtpConfig};

/// One delivery: a notice to one channel of one recipient.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Delivery {
    pub recipient: String,
    /// slack, webhook or email.
    pub channel: &'static str,
    /// Where it goes, without secrets: the environment variable's name, or the address.
    pub to: String,
    pub payload: serde_json::Value,
}

/// Bounds on sending, overridable in tests.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub timeout: Duration,
    pub attempts: u32,
    pub backoff: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            timeout: Duration::from_secs(10),
            attempts: 3,
            backoff: Duration::from_millis(500),
        }
    }
}

/// The deliveries of a notice: every channel of every recipient (a team's or person's own
/// endpoints; a person without endpoints by their e-mail).
pub(crate) fn deliveries(checks: &Checks, n: &Notice) -> Vec<Delivery> {
    let mut out = Vec::new();
    let none = Endpoints::default();
    for r in &n.recipients {
        let ep = checks.endpoints.get(&r.name).unwrap_or(&none);
        let text = match &ep.slack_user {
            Some(u) => format!("<@{u}> {}", n.text()),
            None => n.text(),
        };
        if let Some(env) = &ep.slack_webhook_env {
            out.push(Delivery {
                recipient: r.name.clone(),
                channel: "slack",
                to: format!("${env}"),
                payload: serde_json::json!({"text": text}),
            });
        }
        if let Some(env) = &ep.webhook_env {
            out.push(Delivery {
                recipient: r.name.clone(),
                channel: "webhook",
                to: format!("${env}"),
                payload: serde_json::json!({
                    "kind": n.kind, "metric": n.metric, "alert": n.alert, "severity": n.severity,
                    "slice": n.slice, "period": n.period, "since": n.since, "value": n.value,
                    "detail": n.detail, "text": n.text(), "recipient": r.name, "role": r.role,
                }),
            });
        }
        if let Some(addr) = &ep.email {
            out.push(Delivery {
                recipient: r.name.clone(),
                channel: "email",
                to: addr.clone(),
                payload: serde_json::json!({
                    "subject": format!("[tally] {} {} on {}", n.kind.name(), n.alert, n.metric),
                    "body": n.text(),
                }),
            });
        }
    }
    out
}

/// Send one delivery with bounded retries. `env` looks up environment variables (injectable).
pub(crate) fn send(
    d: &Delivery,
    smtp: Option<&SmtpConfig>,
    env: &dyn Fn(&str) -> Option<String>,
    limits: Limits,
) -> Result<(), String> {
    let mut last = String::new();
    for attempt in 0..limits.attempts.max(1) {
        if attempt > 0 {
            std::thread::sleep(limits.backoff * attempt);
        }
        let r = match d.channel {
            "email" => send_email(d, smtp, env, limits),
            _ => send_http(d, env, limits),
        };
        match r {
            Ok(()) => return Ok(()),
            Err((msg, retry)) => {
                last = msg;
                if !retry {
                    break;
                }
            }
        }
    }
    Err(last)
}

/// Err((message, worth retrying)).
fn send_http(
    d: &Delivery,
    env: &dyn Fn(&str) -> Option<String>,
    limits: Limits,
) -> Result<(), (String, bool)> {
    let var = d.to.trim_start_matches('$');
    let Some(url) = env(var).filter(|u| !u.is_empty()) else {
        return Err((format!("environment variable {var} is not set"), false));
    };
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err((format!("{var} does not hold an http(s) URL"), false));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(limits.timeout))
        .http_status_as_error(false)
        .build()
        .into();
    match agent
        .post(&url)
        .header("content-type", "application/json")
        .send(d.payload.to_string())
    {
        Ok(resp) => {
            let status = resp.status().as_u16();
            if (200..300).contains(&status) {
                Ok(())
            } else {
                // 4xx other than 429 will not get better by retrying.
                let retry = status == 429 || status >= 500;
                Err((format!("{} answered HTTP {status}", d.to), retry))
            }
        }
        Err(e) => Err((format!("{}: {e}", d.to), true)),
    }
}

fn send_email(
    d: &Delivery,
    smtp: Option<&SmtpConfig>,
    env: &dyn Fn(&str) -> Option<String>,
    limits: Limits,
) -> Result<(), (String, bool)> {
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::{Message, SmtpTransport, Transport};
    let Some(cfg) = smtp else {
        return Err((
            "no SMTP server: add `checks: {smtp: {host, port, from}}` to tally.yml".into(),
            false,
        ));
    };
    let parse = |a: &str| a.parse::<lettre::message::Mailbox>();
    let (Ok(from), Ok(to)) = (parse(&cfg.from), parse(&d.to)) else {
        return Err((
            format!("invalid address `{}` or `{}`", cfg.from, d.to),
            false,
        ));
    };
    let subject = d.payload["subject"].as_str().unwrap_or("tally check");
    let body = d.payload["body"].as_str().unwrap_or_default().to_string();
    let msg = Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .body(body)
        .map_err(|e| (e.to_string(), false))?;
    let builder = match cfg.security.as_str() {
        "tls" => SmtpTransport::relay(&cfg.host).map_err(|e| (e.to_string(), false))?,
        "starttls" => {
            SmtpTransport::starttls_relay(&cfg.host).map_err(|e| (e.to_string(), false))?
        }
        _ => SmtpTransport::builder_dangerous(&cfg.host),
    };
    let mut builder = builder.port(cfg.port).timeout(Some(limits.timeout));
    if let (Some(u), Some(p)) = (&cfg.username_env, &cfg.password_env) {
        match (env(u), env(p)) {
            (Some(u), Some(p)) => builder = builder.credentials(Credentials::new(u, p)),
            _ => {
                return Err((
                    format!("environment variables {u} and {p} must both be set for SMTP"),
                    false,
                ))
            }
        }
    }
    builder.build().send(&msg).map(|_| ()).map_err(|e| {
        (
            format!("SMTP {}:{}: {e}", cfg.host, cfg.port),
            !e.is_permanent(),
        )
    })
}
