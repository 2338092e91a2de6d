//! Removes the image tags a test's builds left behind (destroy keeps the
//! images it built, as `docker compose down` does), shared by the CLI's
//! Docker tests (`tests/support`) and `engine/docker`'s (included by path).

/// Untags every image whose reference matches one of `patterns` (Docker's
/// `reference` filter, e.g. `apprun.local/<stack>/*`). Tags only, never by
/// image id: an image that another test also tagged stays for it. Errors
/// are ignored: this is clean-up.
pub fn remove_image_tags(patterns: &[String]) {
    for pattern in patterns {
        let Ok(out) = std::process::Command::new("docker")
            .args(["images", "--format", "{{.Repository}}:{{.Tag}}", "--filter"])
            .arg(format!("reference={pattern}"))
            .output()
        else {
            return;
        };
        let tags: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        if !tags.is_empty() {
            let _ = std::process::Command::new("docker")
                .arg("rmi")
                .args(&tags)
                .output();
        }
    }
}
