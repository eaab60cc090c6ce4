//! `har-monitor info`: the card, the graph's inputs and outputs, and the ONNX Runtime in use.

use clap::Args;

use super::ModelArgs;

#[derive(Debug, Args)]
pub struct InfoArgs {
    #[command(flatten)]
    pub model: ModelArgs,
}

pub fn run(args: InfoArgs) -> anyhow::Result<()> {
    let resolved = args.model.resolved()?;
    let engine = har_monitor::model::Engine::load(&resolved.path, &args.model.engine_options())?;
    let card = engine.card();
    println!("model      {} {}", card.name, card.version);
    if let Some(v) = &resolved.version {
        let aliases = if v.aliases.is_empty() { String::new() } else { format!(", aliases: {}", v.aliases.join(", ")) };
        println!("registry   {} (imported {}{aliases}; sha256 {})", v.spec(), v.imported_at, v.sha256);
    }
    println!("file       {}", engine.model_path().display());
    println!("card       {}", engine.card_path().display());
    if !card.description.is_empty() {
        println!("about      {}", card.description);
    }
    println!(
        "window     {} samples at {} Hz ({:.2} s), step {}, layout {}, output {}",
        card.window,
        card.sample_rate_hz,
        card.window_seconds(),
        card.step(),
        card.input_layout,
        card.output
    );
    println!("channels   {}", card.channels.join(", "));
    println!("units      accel {}, gyro {}", card.units.accel, card.units.gyro);
    let fmt = |v: &[f64]| v.iter().map(|x| format!("{x:.4}")).collect::<Vec<_>>().join(", ");
    println!("scaler     mean [{}]", fmt(&card.scaler.mean));
    println!("           scale [{}]", fmt(&card.scaler.scale));
    match card.temperature {
        Some(t) => println!("calibration temperature T = {t} (probabilities rescaled as softmax(ln p / T))"),
        None => println!("calibration no temperature (`evaluate --fit-temperature` fits one)"),
    }
    println!("classes    {}", card.classes.len());
    for (i, c) in card.classes.iter().enumerate() {
        println!("  {i:>3}  {c}");
    }
    for i in engine.inputs() {
        println!("input      {i}");
    }
    for o in engine.outputs() {
        println!("output     {o}");
    }
    match engine.fixed_batch() {
        Some(b) => println!("batch      fixed at {b}"),
        None => println!("batch      dynamic (files run {} windows per call)", engine.batch_size()),
    }
    if let Some(b) = &card.baseline {
        println!("baseline   {b}");
    }
    let rt = engine.runtime();
    println!("runtime    ONNX Runtime {} ({:?}) {}", rt.version, rt.origin, rt.path.display());
    println!("version    {}", har_monitor::about::app_version());
    // Where this installation keeps its files (the app's About window shows the same list).
    println!("files");
    for place in har_monitor::about::places() {
        let note = if place.exists { "" } else { "  (not created yet)" };
        println!("    {:<15} {}{note}", place.what, place.path.display());
    }
    Ok(())
}
