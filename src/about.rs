//! What this installation is and where it keeps its files: the app's About dialog and `har-monitor info` show the
//! same list, so a user (or an examiner with a fresh archive) can see which runtime and model are in use and which
//! folders to back up or remove.

use std::path::PathBuf;

/// A place the app reads or writes, and what it is for.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub what: &'static str,
    pub path: PathBuf,
    /// Whether it exists now (a folder the app has not needed yet does not).
    pub exists: bool,
}

/// The per-user data folder (`~/.local/share/har-monitor` on Linux): settings, recordings, the registry.
pub fn data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "har-monitor").map(|d| d.data_dir().to_path_buf())
}

/// Where the app's Record button writes sessions.
pub fn recordings_dir() -> PathBuf {
    data_dir().map(|d| d.join("recordings")).unwrap_or_else(|| PathBuf::from("har-monitor-recordings"))
}

/// Every place this installation uses, in the order a user would look for them.
pub fn places() -> Vec<Place> {
    let mut places = Vec::new();
    let mut push = |what: &'static str, path: PathBuf| {
        let exists = path.exists();
        places.push(Place { what, path, exists });
    };
    if let Ok(exe) = std::env::current_exe() {
        push("program", exe);
    }
    if let Some(model) = crate::assets::demo_model() {
        push("demo model", model);
    }
    if let Some(data) = crate::assets::demo_data(crate::assets::DEMO_LABELED) {
        push("demo data", data.parent().map(PathBuf::from).unwrap_or(data));
    }
    if let Some(dir) = data_dir() {
        push("settings", dir.join("app.ron"));
    }
    if let Ok(root) = crate::registry::Registry::default_root() {
        push("model registry", root);
    }
    push("recordings", recordings_dir());
    if let Some(cache) = crate::model::runtime::cache_dir() {
        push("runtime cache", cache);
    }
    places
}

/// The program's own name and version.
pub fn app_version() -> String {
    format!("HAR Monitor {}", env!("CARGO_PKG_VERSION"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_name_the_registry_as_the_registry_opens_it() {
        let places = places();
        let registry = places.iter().find(|p| p.what == "model registry").unwrap();
        assert_eq!(registry.path, crate::registry::Registry::default_root().unwrap());
        assert!(places.iter().any(|p| p.what == "program" && p.exists));
        assert!(
            places.iter().any(|p| p.what == "demo model" && p.exists && p.path.ends_with("demo-1dcnn-bilstm.onnx"))
        );
    }
}
