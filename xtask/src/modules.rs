//! `cargo run -p xtask -- modules`: no module-level import cycles in any workspace crate.
//!
//! Every file under a crate's `src/` is a module (`lib.rs`/`main.rs` the root, `a.rs` or
//! `a/mod.rs` is `a`, `a/b.rs` is `a::b`); inline `mod x { .. }` blocks belong to their file's
//! module. Each `crate::`, `super::` or `self::` path in the code (in `use` declarations, in
//! expressions and types, and in macro arguments) is resolved to the longest known module it
//! names. A reference from module `A` to module `B` is an edge between the two children of their
//! lowest common ancestor that contain `A` and `B`; a parent using its child, or a child using its
//! parent, is no edge. The rule: at every level, sibling modules form a directed acyclic graph.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow};
use proc_macro2::{Span, TokenStream, TokenTree};
use syn::visit::{self, Visit};

/// A module path from the crate root (`[]` is the root, `["a", "b"]` is `a::b`).
type ModPath = Vec<String>;

/// Where a reference is written: a file (as displayed) and a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Location {
    file: String,
    line: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One cycle among the children of `parent`: `members[0] -> members[1] -> .. -> members[0]`,
/// with where each of those edges is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cycle {
    parent: ModPath,
    members: Vec<String>,
    edges: Vec<Location>,
}

impl Cycle {
    /// The cycle's modules as full paths, the first repeated at the end.
    fn names(&self) -> Vec<String> {
        let full = |child: &String| {
            let mut path = self.parent.clone();
            path.push(child.clone());
            path.join("::")
        };
        let mut names: Vec<String> = self.members.iter().map(full).collect();
        names.push(full(&self.members[0]));
        names
    }
}

impl fmt::Display for Cycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = self.names();
        write!(f, "{}", names.join(" -> "))?;
        for (pair, location) in names.windows(2).zip(&self.edges) {
            write!(f, "\n    {} -> {}: {location}", pair[0], pair[1])?;
        }
        Ok(())
    }
}

/// Checks every workspace crate; prints each cycle and returns whether there were none.
pub(crate) fn run(root: &Path) -> Result<bool> {
    let mut found = 0;
    let crates = workspace_crates(root)?;
    for (name, dir) in &crates {
        let src = dir.join("src");
        if !src.is_dir() {
            continue;
        }
        for cycle in crate_cycles(&src, root)? {
            println!("{name}: {cycle}");
            found += 1;
        }
    }
    if found == 0 {
        println!("no module cycles in {} crates", crates.len());
        Ok(true)
    } else {
        println!(
            "{found} module cycle(s): at every level, sibling modules must not import each other in a loop"
        );
        Ok(false)
    }
}

/// `(package name, directory)` of every workspace member, `dir/*` members expanded, in order.
fn workspace_crates(root: &Path) -> Result<Vec<(String, PathBuf)>> {
    let manifest = read_toml(&root.join("Cargo.toml"))?;
    let members = manifest
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(|m| m.as_array())
        .ok_or_else(|| anyhow!("no [workspace] members in {}", root.display()))?;
    let mut dirs = Vec::new();
    for member in members {
        let member = member
            .as_str()
            .ok_or_else(|| anyhow!("workspace member {member} is not a string"))?;
        match member.strip_suffix("/*") {
            Some(parent) => {
                let mut children: Vec<PathBuf> = std::fs::read_dir(root.join(parent))
                    .with_context(|| format!("reading {parent}"))?
                    .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                    .filter(|path| path.join("Cargo.toml").is_file())
                    .collect();
                children.sort();
                dirs.extend(children);
            }
            None => dirs.push(root.join(member)),
        }
    }
    dirs.into_iter()
        .map(|dir| {
            let manifest = read_toml(&dir.join("Cargo.toml"))?;
            let name = manifest
                .get("package")
                .and_then(|p| p.get("name"))
                .and_then(|n| n.as_str())
                .ok_or_else(|| anyhow!("no package name in {}", dir.display()))?;
            Ok((name.to_owned(), dir))
        })
        .collect()
}

fn read_toml(path: &Path) -> Result<toml::Table> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.parse()
        .with_context(|| format!("parsing {}", path.display()))
}

/// The cycles among the modules of the crate whose sources are under `src`, in a stable order.
/// Locations are shown relative to `display_root`.
pub(crate) fn crate_cycles(src: &Path, display_root: &Path) -> Result<Vec<Cycle>> {
    let mut files = Vec::new();
    collect_rs_files(src, &mut files)?;
    files.sort();
    let modules: Vec<(PathBuf, ModPath)> = files
        .into_iter()
        .map(|file| {
            let module = module_path(src, &file);
            (file, module)
        })
        .collect();
    let known: BTreeSet<ModPath> = modules.iter().map(|(_, module)| module.clone()).collect();

    // parent -> (from child, to child) -> the first place that makes the edge.
    let mut levels: BTreeMap<ModPath, BTreeMap<(String, String), Location>> = BTreeMap::new();
    for (file, module) in &modules {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let display = file
            .strip_prefix(display_root)
            .unwrap_or(file)
            .display()
            .to_string();
        let ast = syn::parse_file(&text).map_err(|err| {
            let at = err.span().start();
            anyhow!("{display}:{}:{}: {err}", at.line, at.column + 1)
        })?;
        let mut collector = References::new(module);
        collector.visit_file(&ast);
        for (target, line) in collector.found {
            let Some(target) = longest_known(&known, &target) else {
                continue;
            };
            let Some((parent, from, to)) = sibling_edge(module, target) else {
                continue;
            };
            let location = Location {
                file: display.clone(),
                line,
            };
            levels
                .entry(parent)
                .or_default()
                .entry((from, to))
                .and_modify(|first| *first = (*first).clone().min(location.clone()))
                .or_insert(location);
        }
    }

    let mut cycles = Vec::new();
    for (parent, edges) in levels {
        cycles.extend(level_cycles(&parent, &edges));
    }
    Ok(cycles)
}

fn collect_rs_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect_rs_files(&path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// `lib.rs`/`main.rs` -> root, `a.rs` and `a/mod.rs` -> `a`, `a/b.rs` -> `a::b`.
fn module_path(src: &Path, file: &Path) -> ModPath {
    let relative = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut path: ModPath = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if path.len() == 1 && (path[0] == "lib" || path[0] == "main") {
        path.clear();
    } else if path.last().is_some_and(|last| last == "mod") {
        path.pop();
    }
    path
}

/// The longest prefix of `path` that is a module of the crate.
fn longest_known<'a>(known: &BTreeSet<ModPath>, path: &'a [String]) -> Option<&'a [String]> {
    (0..=path.len())
        .rev()
        .map(|len| &path[..len])
        .find(|prefix| known.contains(*prefix))
}

/// The edge a reference from `from` to `to` makes: `(parent, child holding from, child holding
/// to)` at their lowest common ancestor, or `None` when one contains the other.
fn sibling_edge(from: &[String], to: &[String]) -> Option<(ModPath, String, String)> {
    let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
    if common == from.len() || common == to.len() {
        return None;
    }
    Some((
        from[..common].to_vec(),
        from[common].clone(),
        to[common].clone(),
    ))
}

/// The cycles of one level: for each strongly connected component with more than one member,
/// the shortest cycle through each member not already on a reported cycle.
fn level_cycles(parent: &[String], edges: &BTreeMap<(String, String), Location>) -> Vec<Cycle> {
    let mut graph: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        graph.entry(from).or_default().insert(to);
        graph.entry(to).or_default();
    }
    let mut cycles = Vec::new();
    for component in strongly_connected(&graph) {
        if component.len() < 2 {
            continue;
        }
        let mut covered = BTreeSet::new();
        for &start in &component {
            if covered.contains(start) {
                continue;
            }
            let members = shortest_cycle(&graph, &component, start);
            covered.extend(members.iter().copied());
            let edge_locations = (0..members.len())
                .map(|i| {
                    let key = (
                        members[i].to_owned(),
                        members[(i + 1) % members.len()].to_owned(),
                    );
                    edges[&key].clone()
                })
                .collect();
            cycles.push(Cycle {
                parent: parent.to_vec(),
                members: members.into_iter().map(str::to_owned).collect(),
                edges: edge_locations,
            });
        }
    }
    cycles
}

/// Tarjan's algorithm; components and their members sorted by name.
fn strongly_connected<'a>(graph: &BTreeMap<&'a str, BTreeSet<&'a str>>) -> Vec<BTreeSet<&'a str>> {
    struct State<'a> {
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        components: Vec<BTreeSet<&'a str>>,
    }
    fn connect<'a>(graph: &BTreeMap<&'a str, BTreeSet<&'a str>>, node: &'a str, s: &mut State<'a>) {
        let next = s.index.len();
        s.index.insert(node, next);
        s.low.insert(node, next);
        s.stack.push(node);
        s.on_stack.insert(node);
        for &to in &graph[node] {
            if !s.index.contains_key(to) {
                connect(graph, to, s);
                let low = s.low[node].min(s.low[to]);
                s.low.insert(node, low);
            } else if s.on_stack.contains(to) {
                let low = s.low[node].min(s.index[to]);
                s.low.insert(node, low);
            }
        }
        if s.low[node] == s.index[node] {
            let mut component = BTreeSet::new();
            while let Some(member) = s.stack.pop() {
                s.on_stack.remove(member);
                component.insert(member);
                if member == node {
                    break;
                }
            }
            s.components.push(component);
        }
    }
    let mut state = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        components: Vec::new(),
    };
    for &node in graph.keys() {
        if !state.index.contains_key(node) {
            connect(graph, node, &mut state);
        }
    }
    state.components.sort();
    state.components
}

/// The shortest path `start -> .. -> start` inside `component` (breadth first, names in order),
/// without repeating `start` at the end.
fn shortest_cycle<'a>(
    graph: &BTreeMap<&'a str, BTreeSet<&'a str>>,
    component: &BTreeSet<&'a str>,
    start: &'a str,
) -> Vec<&'a str> {
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for &to in &graph[node] {
            if !component.contains(to) {
                continue;
            }
            if to == start {
                let mut path = vec![node];
                while let Some(&previous) = came_from.get(path[path.len() - 1]) {
                    path.push(previous);
                }
                path.reverse();
                return path;
            }
            if !came_from.contains_key(to) {
                came_from.insert(to, node);
                queue.push_back(to);
            }
        }
    }
    // Every member of a component with more than one member is on a cycle.
    vec![start]
}

/// Collects the absolute target of every `crate::`/`super::`/`self::` path in one file.
struct References<'m> {
    /// The file's module.
    module: &'m [String],
    /// Inline `mod x { .. }` blocks around the current position (for `super::` and `self::`).
    inline: Vec<String>,
    /// `(absolute path, line)` of every reference, in source order.
    found: Vec<(ModPath, usize)>,
}

impl<'m> References<'m> {
    fn new(module: &'m [String]) -> Self {
        References {
            module,
            inline: Vec::new(),
            found: Vec::new(),
        }
    }

    /// Records `segments` (as written) if it starts at `crate`, `super` or `self`.
    fn record(&mut self, segments: &[String], span: Span) {
        if let Some(path) = self.resolve(segments) {
            self.found.push((path, span.start().line));
        }
    }

    fn resolve(&self, segments: &[String]) -> Option<ModPath> {
        let mut rest = segments.iter().peekable();
        let mut base: ModPath = match rest.peek()?.as_str() {
            "crate" => {
                rest.next();
                Vec::new()
            }
            "self" | "super" => {
                let mut current = self.module.to_vec();
                current.extend(self.inline.iter().cloned());
                current
            }
            _ => return None,
        };
        while let Some(segment) = rest.peek() {
            match segment.as_str() {
                "self" => {}
                "super" => {
                    base.pop()?;
                }
                _ => break,
            }
            rest.next();
        }
        base.extend(rest.cloned());
        Some(base)
    }

    /// Every full path a `use` tree imports (a glob or `self` imports its prefix).
    fn use_tree(&mut self, tree: &syn::UseTree, prefix: &mut Vec<String>) {
        match tree {
            syn::UseTree::Path(path) => {
                prefix.push(path.ident.to_string());
                self.use_tree(&path.tree, prefix);
                prefix.pop();
            }
            syn::UseTree::Name(name) => self.use_leaf(prefix, &name.ident),
            syn::UseTree::Rename(rename) => self.use_leaf(prefix, &rename.ident),
            syn::UseTree::Glob(glob) => {
                let span = glob.star_token.spans[0];
                self.record(&prefix.clone(), span);
            }
            syn::UseTree::Group(group) => {
                for item in &group.items {
                    self.use_tree(item, prefix);
                }
            }
        }
    }

    fn use_leaf(&mut self, prefix: &[String], ident: &syn::Ident) {
        let mut path = prefix.to_vec();
        if ident != "self" || path.is_empty() {
            path.push(ident.to_string());
        }
        self.record(&path, ident.span());
    }

    /// Paths written inside a macro's arguments, which syn leaves as tokens.
    fn tokens(&mut self, tokens: TokenStream) {
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        let is_colon =
            |i: usize| matches!(tokens.get(i), Some(TokenTree::Punct(p)) if p.as_char() == ':');
        let mut i = 0;
        while i < tokens.len() {
            match &tokens[i] {
                TokenTree::Group(group) => self.tokens(group.stream()),
                TokenTree::Ident(ident)
                    if (ident == "crate" || ident == "super" || ident == "self")
                        && !(i >= 1 && is_colon(i - 1))
                        && !matches!(
                            i.checked_sub(1).map(|j| &tokens[j]),
                            Some(TokenTree::Punct(p)) if p.as_char() == '$' || p.as_char() == '.'
                        ) =>
                {
                    let span = ident.span();
                    let mut segments = vec![ident.to_string()];
                    while is_colon(i + 1) && is_colon(i + 2) {
                        match tokens.get(i + 3) {
                            Some(TokenTree::Ident(next)) => {
                                segments.push(next.to_string());
                                i += 3;
                            }
                            _ => break,
                        }
                    }
                    self.record(&segments, span);
                }
                _ => {}
            }
            i += 1;
        }
    }
}

impl<'ast> Visit<'ast> for References<'_> {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.use_tree(&item.tree, &mut Vec::new());
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        self.inline.push(item.ident.to_string());
        visit::visit_item_mod(self, item);
        self.inline.pop();
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.leading_colon.is_none() {
            let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
            if let Some(first) = path.segments.first() {
                self.record(&segments, first.ident.span());
            }
        }
        visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        visit::visit_macro(self, mac);
        self.tokens(mac.tokens.clone());
    }

    // `pub(crate)`, `pub(super)` and `pub(in ..)` say who may look, not what is used.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `files` (path under `src/`, contents) to a fresh directory and checks it.
    fn cycles(files: &[(&str, &str)]) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join("src").join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        crate_cycles(&dir.path().join("src"), dir.path())
            .unwrap()
            .iter()
            .map(Cycle::to_string)
            .collect()
    }

    #[test]
    fn a_cycle_among_siblings_is_found_with_where_each_edge_is_made() {
        let found = cycles(&[
            ("lib.rs", "mod a;\nmod b;\n"),
            ("a.rs", "use crate::b::B;\npub struct A;\n"),
            ("b.rs", "\n\nuse crate::a::A;\npub struct B;\n"),
        ]);
        assert_eq!(
            found,
            ["a -> b -> a\n    a -> b: src/a.rs:1\n    b -> a: src/b.rs:3"]
        );
    }

    #[test]
    fn acyclic_siblings_pass() {
        let found = cycles(&[
            ("lib.rs", "mod a;\nmod b;\nmod c;\n"),
            ("a.rs", "use crate::b::B;\nuse crate::c::C;\n"),
            ("b.rs", "use crate::c::C;\n"),
            ("c.rs", "pub struct C;\n"),
        ]);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_parent_using_its_child_and_the_child_using_the_parent_is_not_a_cycle() {
        let found = cycles(&[
            ("lib.rs", "mod a;\npub use a::b::B;\npub struct Root;\n"),
            (
                "a/mod.rs",
                "mod b;\npub use self::b::B;\npub struct Shared;\n",
            ),
            (
                "a/b.rs",
                "use super::Shared;\nuse crate::Root;\npub struct B;\n",
            ),
        ]);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn grouped_and_multi_line_use_declarations_make_edges() {
        let found = cycles(&[
            ("lib.rs", "mod a;\nmod b;\nmod c;\n"),
            (
                "a.rs",
                "use crate::{\n    c::C,\n    b::{\n        B,\n        Other,\n    },\n};\n",
            ),
            ("b.rs", "use crate::{c::C, a::{self}};\n"),
            ("c.rs", "pub struct C;\n"),
        ]);
        assert_eq!(
            found,
            ["a -> b -> a\n    a -> b: src/a.rs:4\n    b -> a: src/b.rs:1"]
        );
    }

    #[test]
    fn super_super_resolves_from_the_file_module() {
        let found = cycles(&[
            ("lib.rs", "mod x;\nmod y;\n"),
            ("x/mod.rs", "mod inner;\n"),
            ("x/inner.rs", "use super::super::y::Y;\n"),
            ("y.rs", "pub struct Y;\nfn f() { let _ = crate::x::X; }\n"),
        ]);
        assert_eq!(
            found,
            ["x -> y -> x\n    x -> y: src/x/inner.rs:1\n    y -> x: src/y.rs:2"]
        );
    }

    #[test]
    fn inline_paths_in_expressions_types_and_macros_make_edges() {
        let found = cycles(&[
            ("lib.rs", "mod a;\nmod b;\nmod c;\n"),
            ("a.rs", "pub fn f() -> u8 { crate::b::g() }\n"),
            (
                "b.rs",
                "pub fn g() -> u8 { let _: Option<crate::c::T> = None; 1 }\n",
            ),
            (
                "c.rs",
                "pub struct T;\nfn h() { assert_eq!(crate::a::f(), 1); }\n",
            ),
        ]);
        assert_eq!(
            found,
            [
                "a -> b -> c -> a\n    a -> b: src/a.rs:1\n    b -> c: src/b.rs:1\n    c -> a: src/c.rs:2"
            ]
        );
    }

    #[test]
    fn cycles_are_found_at_nested_levels_and_reported_with_full_paths() {
        let found = cycles(&[
            ("lib.rs", "mod outer;\n"),
            ("outer/mod.rs", "mod p;\nmod q;\n"),
            ("outer/p.rs", "use super::q::Q;\n"),
            ("outer/q.rs", "use super::p::P;\n"),
        ]);
        assert_eq!(
            found,
            [
                "outer::p -> outer::q -> outer::p\n    outer::p -> outer::q: src/outer/p.rs:1\n    outer::q -> outer::p: src/outer/q.rs:1"
            ]
        );
    }

    #[test]
    fn inline_modules_belong_to_their_file_and_super_inside_them_is_the_file() {
        let found = cycles(&[
            ("lib.rs", "mod a;\nmod b;\n"),
            (
                "a.rs",
                "pub fn f() {}\n#[cfg(test)]\nmod tests {\n    use super::*;\n    use super::f;\n}\n",
            ),
            (
                "b.rs",
                "pub(crate) fn g() {}\npub(in crate::b) fn h() {}\n#[cfg(test)]\nmod tests {\n    use crate::a::f;\n}\n",
            ),
        ]);
        // b -> a through b's test module only; a's tests use their own file: no cycle.
        assert!(found.is_empty(), "{found:?}");
        let found = cycles(&[
            ("lib.rs", "mod a;\nmod b;\n"),
            ("a.rs", "use crate::b::g;\n"),
            (
                "b.rs",
                "#[cfg(test)]\nmod tests {\n    use crate::a::f;\n}\n",
            ),
        ]);
        assert_eq!(
            found,
            ["a -> b -> a\n    a -> b: src/a.rs:1\n    b -> a: src/b.rs:3"]
        );
    }

    #[test]
    fn comments_doc_comments_and_strings_are_not_references() {
        let found = cycles(&[
            ("lib.rs", "mod a;\nmod b;\n"),
            ("a.rs", "use crate::b::B;\n"),
            (
                "b.rs",
                "//! See [`crate::a::A`].\n// use crate::a::A;\n/* crate::a::f() */\n/// Unlike `crate::a::A`.\npub struct B;\nconst S: &str = \"crate::a::A\";\nfn f() { println!(\"{}\", \"use crate::a::A;\"); }\n",
            ),
        ]);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_longer_loop_reports_one_cycle_through_every_member() {
        let found = cycles(&[
            ("lib.rs", "mod a;\nmod b;\nmod c;\n"),
            ("a.rs", "use crate::b::X;\n"),
            ("b.rs", "use crate::c::X;\nuse crate::a::X;\n"),
            ("c.rs", "use crate::a::X;\n"),
        ]);
        assert_eq!(
            found,
            [
                "a -> b -> a\n    a -> b: src/a.rs:1\n    b -> a: src/b.rs:2",
                "c -> a -> b -> c\n    c -> a: src/c.rs:1\n    a -> b: src/a.rs:1\n    b -> c: src/b.rs:1",
            ]
        );
    }

    #[test]
    fn file_paths_map_to_module_paths() {
        let src = Path::new("/x/src");
        let module = |file: &str| module_path(src, &src.join(file)).join("::");
        assert_eq!(module("lib.rs"), "");
        assert_eq!(module("main.rs"), "");
        assert_eq!(module("a.rs"), "a");
        assert_eq!(module("a/mod.rs"), "a");
        assert_eq!(module("a/b.rs"), "a::b");
        assert_eq!(module("a/b/mod.rs"), "a::b");
    }

    #[test]
    fn workspace_members_are_read_and_globs_expanded() {
        let dir = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            "Cargo.toml",
            "[workspace]\nmembers = [\".\", \"core\", \"examples/*\"]\n[package]\nname = \"top\"\n",
        );
        write("core/Cargo.toml", "[package]\nname = \"top-core\"\n");
        write("examples/b/Cargo.toml", "[package]\nname = \"example-b\"\n");
        write("examples/a/Cargo.toml", "[package]\nname = \"example-a\"\n");
        write("examples/notes/README.md", "not a crate\n");
        let names: Vec<String> = workspace_crates(dir.path())
            .unwrap()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(names, ["top", "top-core", "example-a", "example-b"]);
    }

    #[test]
    fn a_file_that_does_not_parse_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/lib.rs"), "fn (").unwrap();
        let err = crate_cycles(&dir.path().join("src"), dir.path()).unwrap_err();
        assert!(err.to_string().starts_with("src/lib.rs:1:"), "{err}");
    }
}
