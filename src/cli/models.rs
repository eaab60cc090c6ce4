//! `har-monitor models`: the local model registry (docs/FORMATS.md §9) — list, import, show, alias, rollback,
//! remove. Tables on stdout; `--json` for list and show.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use har_monitor::format::thousands;
use har_monitor::model::EngineOptions;
use har_monitor::registry::{
    AliasMove, ImportOptions, ModelVersion, MoveKind, RegisteredModel, Registry, Selector, parse_spec,
};
use serde_json::{Value, json};

use super::InputError;

#[derive(Debug, Args)]
pub struct ModelsArgs {
    #[command(subcommand)]
    pub command: ModelsCommand,
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Every model with its versions, aliases and whether each stored version is sound.
    List {
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Import an ONNX model with its card (and baseline) as a new version; the same bytes again give the existing one.
    Import(ImportArgs),
    /// One version (default: the highest) with its files, aliases, alias history and evaluation runs.
    Show {
        /// NAME, NAME@VERSION or NAME@ALIAS.
        #[arg(value_name = "NAME[@VERSION|@ALIAS]")]
        spec: String,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Point ALIAS (production, staging, any name) at a version; the move is kept in the history.
    Alias { name: String, version: u32, alias: String },
    /// Move ALIAS back to the version it pointed at before its last move.
    Rollback { name: String, alias: String },
    /// Remove a version (refused while an alias points at it, unless --force, which deletes those aliases).
    Remove {
        #[arg(value_name = "NAME@VERSION")]
        spec: String,
        /// Remove it even when aliases point at it (they are deleted; the moves are kept in the history).
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The ONNX model; its card `<stem>.model.json` must be beside it (and its baseline, if it has one).
    #[arg(value_name = "M.onnx")]
    pub model: PathBuf,
    /// Registry name (default: the card's name).
    #[arg(long, value_name = "N")]
    pub name: Option<String>,
    /// Point this alias at the imported version.
    #[arg(long, value_name = "A")]
    pub alias: Option<String>,
    /// Free text kept with the version.
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    /// ONNX Runtime shared library to load (the model is loaded to check it against its card).
    #[arg(long, value_name = "LIB")]
    pub ort_lib: Option<PathBuf>,
}

pub fn run(args: ModelsArgs) -> anyhow::Result<()> {
    let registry = Registry::open_default()?;
    match args.command {
        ModelsCommand::List { json } => list(&registry, json),
        ModelsCommand::Import(a) => import(&registry, a),
        ModelsCommand::Show { spec, json } => show(&registry, &spec, json),
        ModelsCommand::Alias { name, version, alias } => {
            let moved = registry.set_alias(&name, version, &alias)?;
            print_move(&moved);
            Ok(())
        }
        ModelsCommand::Rollback { name, alias } => {
            let moved = registry.rollback(&name, &alias)?;
            print_move(&moved);
            Ok(())
        }
        ModelsCommand::Remove { spec, force } => remove(&registry, &spec, force),
    }
}

fn print_move(m: &AliasMove) {
    let v = |x: Option<u32>| x.map_or_else(|| "none".to_string(), |v| v.to_string());
    match (m.action, m.unchanged()) {
        (_, true) => println!("{}@{} already points at version {}", m.name, m.alias, v(m.to)),
        (MoveKind::Rollback, _) => println!("rolled back {}@{}: {} → {}", m.name, m.alias, v(m.from), v(m.to)),
        (MoveKind::Removed, _) => println!("deleted alias {}@{} (it pointed at {})", m.name, m.alias, v(m.from)),
        (MoveKind::Set, _) => println!("{}@{}: {} → {}", m.name, m.alias, v(m.from), v(m.to)),
    }
}

fn import(registry: &Registry, args: ImportArgs) -> anyhow::Result<()> {
    if !args.model.is_file() {
        return Err(InputError(format!("{}: no such file", args.model.display())).into());
    }
    let options = ImportOptions {
        name: args.name,
        alias: args.alias,
        note: args.note,
        source: None,
        engine: EngineOptions { runtime_library: args.ort_lib, ..Default::default() },
    };
    let imported = registry.import_model(&args.model, &options)?;
    let v = &imported.version;
    if imported.created {
        println!(
            "imported {} as {} ({} files, sha256 {}) into {}",
            args.model.display(),
            v.spec(),
            v.files.len(),
            short_sha(&v.sha256),
            registry.root().display()
        );
    } else {
        println!("{} already holds these bytes: {} (nothing imported)", registry.root().display(), v.spec());
    }
    if let Some(m) = &imported.alias_move {
        print_move(m);
    }
    Ok(())
}

fn remove(registry: &Registry, spec: &str, force: bool) -> anyhow::Result<()> {
    let (name, selector) = parse_spec(spec)?;
    let Selector::Version(version) = selector else {
        return Err(InputError(format!(
            "remove {spec}: name the version by its number (NAME@VERSION), so that an alias never removes more than meant"
        ))
        .into());
    };
    let removed = registry.remove(&name, version, force)?;
    println!("removed {}@{} from {}", removed.name, removed.version, registry.root().display());
    for m in &removed.alias_moves {
        print_move(m);
    }
    Ok(())
}

fn short_sha(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// Left-aligned columns, two spaces apart; the last column is not padded.
fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 < row.len() {
                line.push_str(&format!("{cell:<width$}  ", width = widths[c]));
            } else {
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn version_json(v: &ModelVersion) -> Value {
    json!({
        "name": v.name,
        "version": v.version,
        "status": "ok",
        "aliases": v.aliases,
        "imported_at": v.imported_at,
        "imported_by": v.imported_by,
        "source": v.source,
        "note": v.note,
        "card": {"name": v.card_name, "version": v.card_version},
        "sha256": v.sha256,
        "model_path": v.model_path,
        "card_path": v.card_path,
        "baseline_path": v.baseline_path,
        "files": v.files,
    })
}

fn model_json(m: &RegisteredModel) -> Value {
    let versions: Vec<Value> = m
        .versions
        .iter()
        .map(|e| match &e.entry {
            Ok(v) => version_json(v),
            Err(err) => json!({
                "name": m.name,
                "version": e.version,
                "status": "damaged",
                "problem": err.to_string(),
                "aliases": m.aliases.iter().filter(|(_, v)| **v == e.version).map(|(a, _)| a).collect::<Vec<_>>(),
            }),
        })
        .collect();
    json!({"name": m.name, "aliases": m.aliases, "problem": m.problem, "versions": versions})
}

/// The rows of a model's versions for a table: name (first row only), version, aliases, imported, card, sha, status.
fn version_rows(m: &RegisteredModel, rows: &mut Vec<Vec<String>>) {
    if m.versions.is_empty() {
        rows.push(vec![
            m.name.clone(),
            "-".into(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            "no versions".into(),
        ]);
    }
    for (i, e) in m.versions.iter().enumerate() {
        let name = if i == 0 { m.name.clone() } else { String::new() };
        let aliases: Vec<&str> = m.aliases.iter().filter(|(_, v)| **v == e.version).map(|(a, _)| a.as_str()).collect();
        rows.push(match &e.entry {
            Ok(v) => vec![
                name,
                v.version.to_string(),
                aliases.join(", "),
                v.imported_at.clone(),
                format!("{} {}", v.card_name, v.card_version),
                short_sha(&v.sha256).to_string(),
                "ok".into(),
            ],
            Err(err) => vec![
                name,
                e.version.to_string(),
                aliases.join(", "),
                String::new(),
                String::new(),
                String::new(),
                format!("DAMAGED: {err}"),
            ],
        });
    }
}

fn list(registry: &Registry, as_json: bool) -> anyhow::Result<()> {
    let models = registry.list()?;
    if as_json {
        let doc = json!({"registry": registry.root(), "models": models.iter().map(model_json).collect::<Vec<_>>()});
        println!("{}", serde_json::to_string_pretty(&doc).context("writing JSON")?);
        return Ok(());
    }
    println!("registry {}", registry.root().display());
    if models.is_empty() {
        println!("no models yet: import one with `har-monitor models import M.onnx [--name N] [--alias production]`");
        return Ok(());
    }
    let mut rows =
        vec![["NAME", "VERSION", "ALIASES", "IMPORTED", "CARD", "SHA-256", "STATUS"].map(String::from).to_vec()];
    for m in &models {
        version_rows(m, &mut rows);
    }
    print!("{}", table(&rows));
    for m in &models {
        if let Some(p) = &m.problem {
            println!("{}: aliases unusable: {p}", m.name);
        }
    }
    Ok(())
}

fn alias_text(v: Option<u32>) -> String {
    v.map_or_else(|| "none".to_string(), |v| v.to_string())
}

fn show(registry: &Registry, spec: &str, as_json: bool) -> anyhow::Result<()> {
    let (name, _) = parse_spec(spec)?;
    let resolved = registry.resolve(spec);
    // The model's other versions are shown whatever state this one is in.
    let model = registry.model(&name);
    let version = match resolved {
        Ok(v) => v,
        Err(e) => {
            if let (Ok(m), true) = (&model, e.is_corrupt()) {
                let mut rows = vec![
                    ["NAME", "VERSION", "ALIASES", "IMPORTED", "CARD", "SHA-256", "STATUS"].map(String::from).to_vec(),
                ];
                version_rows(m, &mut rows);
                print!("{}", table(&rows));
            }
            return Err(e.into());
        }
    };
    let evaluations = registry.evaluations(&version);
    let history = registry.history(&name);
    if as_json {
        let mut doc = version_json(&version);
        doc["registry"] = json!(registry.root());
        doc["evaluations"] = match &evaluations {
            Ok(e) => json!(e),
            Err(err) => json!({"problem": err.to_string()}),
        };
        doc["history"] = match &history {
            Ok(h) => json!(h),
            Err(err) => json!({"problem": err.to_string()}),
        };
        if let Ok(m) = &model {
            doc["versions"] = model_json(m)["versions"].clone();
        }
        println!("{}", serde_json::to_string_pretty(&doc).context("writing JSON")?);
        return Ok(());
    }
    let latest = model.as_ref().ok().and_then(RegisteredModel::latest);
    let mut head = vec![
        vec!["model".to_string(), format!("{}  (registry {})", version.name, registry.root().display())],
        vec![
            "version".to_string(),
            format!(
                "{}{}{}",
                version.version,
                if latest == Some(version.version) { "  (latest)" } else { "" },
                if version.aliases.is_empty() {
                    String::new()
                } else {
                    format!("  aliases: {}", version.aliases.join(", "))
                }
            ),
        ],
        vec!["imported".to_string(), format!("{} by {}", version.imported_at, version.imported_by)],
    ];
    if let Some(s) = &version.source {
        head.push(vec!["source".to_string(), s.clone()]);
    }
    if let Some(n) = &version.note {
        head.push(vec!["note".to_string(), n.clone()]);
    }
    head.push(vec!["card".to_string(), format!("{} {}", version.card_name, version.card_version)]);
    head.push(vec!["path".to_string(), version.model_path.display().to_string()]);
    for (i, f) in version.files.iter().enumerate() {
        head.push(vec![
            if i == 0 { "files".to_string() } else { String::new() },
            format!(
                "{:<9} {}  {} bytes  sha256 {}",
                format!("{:?}", f.role).to_lowercase(),
                f.file,
                thousands(f.bytes),
                f.sha256
            ),
        ]);
    }
    print!("{}", table(&head));

    println!("\nevaluations of {}", version.spec());
    match &evaluations {
        Ok(runs) if runs.is_empty() => {
            println!(
                "  none yet: `har-monitor evaluate --model {} --data LABELED.csv --out DIR` records one",
                version.spec()
            )
        }
        Ok(runs) => {
            let mut rows = vec![
                ["  WHEN", "ACCURACY", "MACRO-F1", "KAPPA", "WINDOWS", "DATA", "REPORT"].map(String::from).to_vec(),
            ];
            for r in runs {
                rows.push(vec![
                    format!("  {}", r.at),
                    format!("{:.4}", r.summary.accuracy),
                    format!("{:.4}", r.summary.macro_f1),
                    r.summary.cohen_kappa.map_or_else(|| "undefined".to_string(), |k| format!("{k:.4}")),
                    thousands(r.summary.windows),
                    r.summary.data.clone(),
                    r.report_dir.clone(),
                ]);
            }
            print!("{}", table(&rows));
        }
        Err(e) => println!("  unreadable: {e}"),
    }

    println!("\nalias history of {}", version.name);
    match &history {
        Ok(h) if h.is_empty() => println!("  no alias moves yet"),
        Ok(h) => {
            let mut rows = vec![["  WHEN", "BY", "ALIAS", "FROM", "TO", "ACTION"].map(String::from).to_vec()];
            for m in h {
                rows.push(vec![
                    format!("  {}", m.at),
                    m.by.clone(),
                    m.alias.clone(),
                    alias_text(m.from),
                    alias_text(m.to),
                    match m.action {
                        MoveKind::Set => "set",
                        MoveKind::Rollback => "rollback",
                        MoveKind::Removed => "version removed",
                    }
                    .to_string(),
                ]);
            }
            print!("{}", table(&rows));
        }
        Err(e) => println!("  unreadable: {e}"),
    }
    if let Ok(m) = &model {
        println!("\nversions of {}", m.name);
        let mut rows =
            vec![["  NAME", "VERSION", "ALIASES", "IMPORTED", "CARD", "SHA-256", "STATUS"].map(String::from).to_vec()];
        let mut body = Vec::new();
        version_rows(m, &mut body);
        rows.extend(body.into_iter().map(|mut r| {
            r[0] = format!("  {}", r[0]);
            r
        }));
        print!("{}", table(&rows));
    }
    // A damaged history or evaluations file is reported above and makes the exit code say so.
    if let Err(e) = evaluations.and(history) {
        return Err(e.into());
    }
    Ok(())
}
