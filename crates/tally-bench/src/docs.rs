//! `tally-bench docs [--sizes 10000]`: how long `tally docs generate` takes on synthetic projects
//! (load + validate, site generation with the SQL of every metric in every dialect, writing the
//! files), and how big the site is. Prints figures; asserts nothing.

use crate::{machine, ms, synth, Options};
use std::time::Instant;
use tally_core::load::LoadOptions;
use tally_docs::SiteOptions;

pub(crate) fn run(_opts: &Options, sizes: &[usize]) -> Result<(), String> {
    println!("## Docs site benchmark\n");
    println!("machine: {}\n", machine());
    let root = std::env::temp_dir().join(format!("tally-bench-docs-{}", std::process::id()));
    println!("| metrics | load + validate | generate (7 dialects) | per metric | write | files | site size | largest page |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &size in sizes {
        let dir = root.join(format!("p{size}"));
        synth::write_project(&dir, size).map_err(|e| e.to_string())?;
        let t = Instant::now();
        let (model, diags) = tally_core::pipeline::load_model(
            &dir,
            &LoadOptions::default(),
            &tally_templates::builtin(),
        );
        let load = t.elapsed();
        let site_opts = SiteOptions::for_model(&model);
        let t = Instant::now();
        let site = tally_docs::generate(&model, &diags, &site_opts);
        let gen = t.elapsed();
        let out = root.join(format!("site{size}"));
        let t = Instant::now();
        tally_docs::output::write_site(&site, &out).map_err(|e| e.to_string())?;
        let write = t.elapsed();
        let bytes: usize = site.files.iter().map(|f| f.bytes.len()).sum();
        let largest = site
            .files
            .iter()
            .max_by_key(|f| f.bytes.len())
            .map(|f| format!("{} ({:.0} KB)", f.path, f.bytes.len() as f64 / 1e3))
            .unwrap_or_default();
        println!(
            "| {} | {:.2} s | {:.2} s | {:.2} ms | {:.2} s | {} | {:.1} MB | {largest} |",
            model.metrics.len(),
            load.as_secs_f64(),
            gen.as_secs_f64(),
            ms(gen) / model.metrics.len().max(1) as f64,
            write.as_secs_f64(),
            site.files.len(),
            bytes as f64 / 1e6,
        );
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&out);
    }
    let _ = std::fs::remove_dir_all(&root);
    Ok(())
}
