//! People and teams (`tally.yml`) and metric owners.

use super::Resolver;
use crate::diag::{codes, Diagnostic};
use crate::model::{Model, Owners, Person, Team};
use crate::spec;
use crate::yaml::Spanned;

impl Resolver<'_> {
    pub(super) fn resolve_roster(&mut self, model: &mut Model) {
        let cfg = &self.spec.config;
        for t in &cfg.teams {
            if model.teams.contains_key(&t.name.value) {
                self.err(
                    Diagnostic::error(
                        codes::DUPLICATE_NAME,
                        format!("team `{}` is listed twice", t.name.value),
                    )
                    .at(t.name.span),
                );
            }
            model.teams.insert(
                t.name.value.clone(),
                Team {
                    name: t.name.value.clone(),
                    description: t.description.clone(),
                    members: t.members.iter().map(|m| m.value.clone()).collect(),
                    span: t.name.span,
                },
            );
        }
        for p in &cfg.people {
            if model.people.contains_key(&p.name.value) || model.teams.contains_key(&p.name.value) {
                self.err(
                    Diagnostic::error(
                        codes::DUPLICATE_NAME,
                        format!(
                            "person `{}` is listed twice, or shares a team's name",
                            p.name.value
                        ),
                    )
                    .at(p.name.span),
                );
            }
            for t in &p.teams {
                if !model.teams.contains_key(&t.value) {
                    let d = Diagnostic::error(
                        codes::UNKNOWN_OWNER,
                        format!("unknown team `{}`", t.value),
                    )
                    .at(t.span)
                    .with_suggestion(&t.value, model.teams.keys().map(String::as_str))
                    .with_help("teams are listed under `teams:` in tally.yml");
                    self.err(d);
                }
            }
            model.people.insert(
                p.name.value.clone(),
                Person {
                    name: p.name.value.clone(),
                    full_name: p.full_name.clone(),
                    email: p.email.clone(),
                    title: p.title.clone(),
                    teams: p.teams.iter().map(|t| t.value.clone()).collect(),
                    span: p.name.span,
                },
            );
        }
        let team_members: Vec<(String, Spanned<String>)> = cfg
            .teams
            .iter()
            .flat_map(|t| {
                t.members
                    .iter()
                    .map(move |m| (t.name.value.clone(), m.clone()))
            })
            .collect();
        for (team, m) in team_members {
            if !model.people.contains_key(&m.value) {
                let d = Diagnostic::error(
                    codes::UNKNOWN_OWNER,
                    format!("team `{team}` lists unknown person `{}`", m.value),
                )
                .at(m.span)
                .with_suggestion(&m.value, model.people.keys().map(String::as_str))
                .with_help("people are listed under `people:` in tally.yml");
                self.err(d);
            } else if let Some(p) = model.people.get_mut(&m.value) {
                if !p.teams.contains(&team) {
                    p.teams.push(team);
                }
            }
        }
    }

    pub(super) fn resolve_owners(&mut self, m: &spec::Metric, model: &Model) -> Owners {
        let Some(o) = &m.owners else {
            return Owners::default();
        };
        let known = |n: &str| model.people.contains_key(n) || model.teams.contains_key(n);
        let candidates: Vec<&str> = model
            .people
            .keys()
            .chain(model.teams.keys())
            .map(String::as_str)
            .collect();
        let check = |r: &mut Self, list: &[Spanned<String>]| -> Vec<String> {
            let mut out = Vec::new();
            for n in list {
                if !known(&n.value) {
                    let mut d = Diagnostic::error(
                        codes::UNKNOWN_OWNER,
                        format!("unknown owner `{}`", n.value),
                    )
                    .at(n.span)
                    .with_label("not a person or team of the roster")
                    .with_suggestion(&n.value, candidates.iter().copied());
                    if candidates.is_empty() {
                        d = d.with_help(
                            "list people and teams under `people:` and `teams:` in tally.yml",
                        );
                    }
                    r.err(d);
                }
                out.push(n.value.clone());
            }
            out
        };
        let accountable = check(self, &o.accountable.0);
        let responsible = check(self, &o.responsible.0);
        let consulted = check(self, &o.consulted.0);
        let informed = check(self, &o.informed.0);
        if accountable.len() != 1 {
            let d = Diagnostic::error(
                codes::ACCOUNTABLE,
                if accountable.is_empty() {
                    format!("metric `{}` has owners but no accountable owner", m.name.value)
                } else {
                    format!("metric `{}` has {} accountable owners", m.name.value, accountable.len())
                },
            )
            .at(o.accountable.0.get(1).map(|s| s.span).unwrap_or(m.name.span))
            .with_help("RACI: exactly one person or team is accountable; others can be responsible, consulted or informed");
            self.err(d);
        }
        Owners {
            accountable: accountable.into_iter().next(),
            responsible,
            consulted,
            informed,
        }
    }
}
