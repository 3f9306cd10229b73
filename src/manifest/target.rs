//! `[[target]]`: the build targets of a CI matrix.

/// `[[target]]`: a machine kind the CI engine runs build jobs on. Its labels are the engine's;
/// wrap passes them through to the matrix and reads nothing into them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Target {
    /// Its name (`debian-12`).
    pub name: String,
    /// The runner labels (GitHub `runs-on`, GitLab `tags`).
    pub runs_on: Vec<String>,
    /// The container image the job runs in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}
