//! The committed demo recordings are exactly what the commands in data/demo/README.md produce with today's
//! simulator. If this fails, the generator changed: regenerate the data and retrain the demo model
//! (`models/tools/train_demo.py --regenerate-demo-data`), since its test metrics are measured on that data.

use std::path::Path;
use std::process::Command;

#[test]
fn demo_files_are_reproduced_by_their_documented_commands() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("data/demo/README.md")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for line in readme.lines().filter(|l| l.starts_with('|')) {
        // A table row: `| file | what | `har-monitor simulate --out data/demo/X.csv ...` |`.
        let Some(command) = line.split('`').find(|part| part.starts_with("har-monitor simulate --out data/demo/"))
        else {
            continue;
        };
        let mut args: Vec<String> = command.split_whitespace().skip(1).map(str::to_string).collect();
        let out_at = args.iter().position(|a| a == "--out").unwrap() + 1;
        let committed = root.join(&args[out_at]);
        let fresh = dir.path().join(committed.file_name().unwrap());
        args[out_at] = fresh.display().to_string();
        let status = Command::new(env!("CARGO_BIN_EXE_har-monitor")).args(&args).output().unwrap();
        assert!(status.status.success(), "{command}: {}", String::from_utf8_lossy(&status.stderr));
        assert!(
            std::fs::read(&fresh).unwrap() == std::fs::read(&committed).unwrap(),
            "{} is not what `{command}` writes today",
            committed.display()
        );
        checked += 1;
    }
    assert_eq!(checked, 2, "data/demo/README.md documents two committed files");
}
