//! File-system facts shared by stages that judge trees they did not make (a checkout, a package
//! to inspect). A bottom module: it imports nothing of wrap's.

/// Whether a symlink at `link` (a relative path inside a tree) with `target` leads out of the
/// tree: an absolute or empty target, or a relative one whose `..` climb above the tree's root,
/// lexically (every other link of the tree is judged the same way, so chains cannot escape).
pub fn link_leaves_tree(link: &str, target: &str) -> bool {
    if target.starts_with('/') || target.is_empty() {
        return true;
    }
    let parents = link.trim_start_matches("./").split('/').filter(|c| !c.is_empty() && *c != ".").count();
    let mut depth = parents as i64 - 1;
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_that_leave_the_tree() {
        assert!(!link_leaves_tree("lib64", "lib"));
        assert!(!link_leaves_tree("a/b/link", "../c"));
        assert!(!link_leaves_tree("a/b/link", "../../c"));
        assert!(link_leaves_tree("a/b/link", "../../../c"));
        assert!(link_leaves_tree("etc", "/srv/secret"));
        assert!(link_leaves_tree("link", ".."));
        assert!(link_leaves_tree("a/link", "x/../../.."));
        assert!(!link_leaves_tree("a/link", "./x"));
        assert!(!link_leaves_tree("./bundle/bin/python", "python3.11"));
    }
}
