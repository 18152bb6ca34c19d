//! The project as every command reads it, in one place: loaded once (the database settings of
//! its spec kept before resolution consumes the spec), validated once (`tally validate` in every
//! format), and where its DuckDB database is (`open` opens it, in the engine binary only).

use crate::{report, Ctx, EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE};
use std::path::{Path, PathBuf};
use tally_core::diag::{self, codes, Diagnostic};
use tally_core::load::ProjectSpec;
use tally_core::model::Model;

/// Where the project keeps its data: read from the spec when the project is loaded.
#[derive(Clone, Debug, Default)]
pub(crate) struct DatabaseSettings {
    /// `duckdb:` of tally.yml, else a dbt DuckDB target's `path:` (relative to the project).
    pub setting: Option<String>,
    /// The setting is the dbt target's `path:` (dbt builds that database; tally never generates it).
    pub from_dbt: bool,
    /// `sample_data:` of tally.yml: generated into the database when it is missing.
    pub sample: Option<tally_core::spec::SampleData>,
}

impl DatabaseSettings {
    fn of(spec: &ProjectSpec) -> DatabaseSettings {
        let own = spec.config.duckdb.as_ref().map(|s| s.value.clone());
        let dbt = spec.dbt.as_ref().and_then(|d| d.duckdb_path.clone());
        DatabaseSettings {
            from_dbt: own.is_none() && dbt.is_some(),
            setting: own.or(dbt),
            sample: spec.config.sample_data.clone(),
        }
    }
}

/// A loaded project with every diagnostic found.
pub(crate) struct Loaded {
    pub model: Model,
    pub diags: Vec<Diagnostic>,
}

impl Loaded {
    /// Nothing could be read (no project there): exit code 2 rather than 1.
    pub(crate) fn unreadable(&self) -> bool {
        self.diags.iter().any(|d| d.code == codes::IO) && self.model.semantic_models.is_empty()
    }

    pub(crate) fn errors(&self) -> usize {
        self.diags.iter().filter(|d| d.is_error()).count()
    }

    /// Report the project's warnings and notes (a command that goes on with the project), in the
    /// command's format (`report::warn`): once per command, as it reads the project once.
    pub(crate) fn report_warnings(&self, ctx: &Ctx) {
        let warnings: Vec<Diagnostic> = self
            .diags
            .iter()
            .filter(|d| !d.is_error())
            .cloned()
            .collect();
        report::warn(ctx, &self.model.sources, &warnings);
    }
}

/// Read the project's files: the only place the CLI reads a project (the base version of `tally
/// diff` aside, read from git). Counted, and the database settings remembered on `ctx`.
fn read_spec(ctx: &Ctx) -> (ProjectSpec, Vec<Diagnostic>) {
    ctx.loads.set(ctx.loads.get() + 1);
    crate::parsed::install(ctx);
    let (spec, diags) = tally_core::load::load_project(&ctx.project, &ctx.opts);
    crate::parsed::flush(ctx);
    let _ = ctx.database.set(DatabaseSettings::of(&spec));
    (spec, diags)
}

/// Load, resolve and validate the project, with every diagnostic. A project state that validated
/// before is not validated again: its recorded warnings are replayed (`vcache`).
pub(crate) fn load(ctx: &Ctx) -> Loaded {
    load_with(ctx, true)
}

/// Load, resolve and validate the project (the recorded validation of its state replayed when
/// `replay`); a state that validates is recorded.
fn load_with(ctx: &Ctx, replay: bool) -> Loaded {
    let (spec, diags) = read_spec(ctx);
    let templates = tally_templates::builtin();
    let slot = crate::vcache::Slot::of(ctx, &spec, &diags);
    let replayed = slot
        .as_ref()
        .filter(|_| replay)
        .and_then(|slot| slot.lookup(ctx, spec.sources.files().count()));
    if let Some(recorded) = replayed {
        let (model, _) = tally_core::model::spec_to_model(spec, &templates);
        // A recorded state validated: its users' SQL parsed in the validation's dialect
        // (tally_core::validate::validate_model says the same when it runs).
        if !recorded
            .iter()
            .any(|d| d.code == tally_core::diag::codes::EXPRESSION)
        {
            model.mark_sql_checked(tally_core::validate::validation_dialect(&model).name());
        }
        if let Some(slot) = slot {
            let _ = ctx.validated.set(slot);
        }
        return Loaded {
            model,
            diags: recorded,
        };
    }
    let (model, diags) = tally_core::pipeline::check_spec(spec, diags, &templates);
    if let Some(slot) = slot {
        slot.record(ctx, &diags);
        let _ = ctx.validated.set(slot);
    }
    Loaded { model, diags }
}

/// Load the project for a command that needs it valid; on errors print them and return the exit
/// code.
pub(crate) fn load_valid(ctx: &Ctx) -> Result<Model, u8> {
    let loaded = load(ctx);
    if loaded.unreadable() {
        ctx.print_diags(&loaded.model, &loaded.diags);
        return Err(EXIT_USAGE);
    }
    let errors = loaded.errors();
    if errors > 0 {
        ctx.print_diags(&loaded.model, &loaded.diags);
        if !ctx.json {
            eprintln!("the project has {errors} error(s); run `tally validate` for details");
        }
        return Err(EXIT_PROBLEMS);
    }
    loaded.report_warnings(ctx);
    Ok(loaded.model)
}

/// The database settings of the project: those read when it was loaded, else read now (commands
/// that do not resolve the project, such as `tally sample-data`).
pub(crate) fn database_settings(ctx: &Ctx) -> DatabaseSettings {
    if ctx.database.get().is_none() {
        drop(read_spec(ctx));
    }
    ctx.database.get().cloned().unwrap_or_default()
}

/// `TALLY_DEBUG_LOADS=1` prints how often the command read the project (a test checks that
/// `tally query` reads it once).
pub(crate) fn debug_loads(ctx: &Ctx) {
    if std::env::var_os("TALLY_DEBUG_LOADS").is_some() {
        eprintln!("debug: the project was read {} time(s)", ctx.loads.get());
    }
}

// ----- validate -------------------------------------------------------------------------------------

/// `tally validate --format human|json|github|junit|sarif`: the one implementation. CI formats
/// name files relative to the repository root.
pub(crate) fn validate(ctx: &Ctx, format: crate::choices::DiagFormat) -> u8 {
    use crate::choices::DiagFormat;
    // The one command that always validates (and records the outcome for the others).
    let loaded = load_with(ctx, false);
    let (model, diags) = (&loaded.model, &loaded.diags);
    let errors = loaded.errors();
    match format {
        DiagFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&diag::to_json(&model.sources, diags)).expect("json")
        ),
        DiagFormat::Github => print!(
            "{}",
            diag::render_github(&crate::ci_paths::ci_sources(ctx, model), diags)
        ),
        DiagFormat::Junit => print!(
            "{}",
            diag::render_junit(
                &crate::ci_paths::ci_sources(ctx, model),
                diags,
                "tally validate"
            )
        ),
        DiagFormat::Sarif => println!(
            "{}",
            serde_json::to_string_pretty(&diag::to_sarif(
                &crate::ci_paths::ci_sources(ctx, model),
                diags
            ))
            .expect("json")
        ),
        DiagFormat::Human => {
            eprint!("{}", diag::render_human(&model.sources, diags, ctx.color));
            let warnings = diags.len() - errors;
            if errors == 0 {
                eprintln!(
                    "ok: {} semantic models, {} metrics, {} saved queries; {warnings} warning(s)",
                    model.semantic_models.len(),
                    model.metrics.len(),
                    model.saved_queries.len()
                );
            } else {
                eprintln!("{errors} error(s), {warnings} warning(s)");
            }
        }
    }
    if loaded.unreadable() {
        EXIT_USAGE
    } else if errors > 0 {
        EXIT_PROBLEMS
    } else {
        EXIT_OK
    }
}

// ----- the database ---------------------------------------------------------------------------------

/// The database to use: the `--duckdb` flag (the user's own choice), else the project's setting,
/// which must stay inside the project unless --allow-outside-project.
pub(crate) fn database_path(
    ctx: &Ctx,
    setting: Option<&str>,
    flag: Option<&Path>,
) -> Result<Option<PathBuf>, u8> {
    if let Some(f) = flag {
        return Ok(Some(f.to_path_buf()));
    }
    let Some(p) = setting else { return Ok(None) };
    let path = ctx.project.join(p);
    let reader = tally_core::files::FileReader::new(&ctx.project, ctx.opts.allow_outside_project);
    if let Err(e) = reader.check_inside(&path) {
        let d = Diagnostic::error(
            codes::OUTSIDE_PROJECT,
            format!(
                "the DuckDB database (`duckdb:` in tally.yml or the dbt target's `path:`): {}",
                e.message()
            ),
        )
        .with_help(
            "pass --allow-outside-project to trust this project with more, or --duckdb PATH",
        );
        return Err(report::fail(ctx, d, EXIT_USAGE));
    }
    Ok(Some(path))
}
