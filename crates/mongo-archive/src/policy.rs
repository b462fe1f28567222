//! Per-namespace decisions, shared by the archive driver and the oplog rewriter: what the
//! options and the rules say about a collection (drop it and why, or keep it with its field
//! plan, row limit, and whether its documents are oplog entries).

use anonymize_core::{Anonymizer, Disposition, ExcludeReason, PlanNode};

use crate::error::ErrorKind;
use crate::reader::CollectionKind;

/// What to do with the `--oplog` namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OplogMode {
    /// Rewrite entries by their target collection's rules; fail on entries that cannot be
    /// made safe.
    #[default]
    Apply,
    /// Remove the oplog (prelude entry and namespace).
    Drop,
}

/// Options of a rewrite beyond the rules.
#[derive(Debug, Clone, Default)]
pub struct RewriteOptions {
    /// Keep only these collections (`--collections a,b`), bare (`pmStudy`) or qualified
    /// (`syrftest.pmStudy`), on top of the rules' own `collections:` list. What restoring them
    /// needs comes along: a timeseries collection's `system.buckets` body, and (with
    /// `keep_users`) the users, roles and `admin.system.version`. Views restore from their
    /// prelude metadata alone, so nothing else is added for them; `db.system.views` is kept
    /// only when selected. The oplog follows [`oplog`](Self::oplog); its entries for collections
    /// not kept are dropped.
    pub collections: Option<Vec<String>>,
    /// Keep `admin.system.users`/`admin.system.roles`, mongorestore's staging copies
    /// `admin.tempusers`/`admin.temproles`, and the `--dumpDbUsersAndRoles` namespaces
    /// (`<db>.$admin.system.users|roles`). Off by default: they hold credential hashes.
    pub keep_users: bool,
    /// The oplog's fate.
    pub oplog: OplogMode,
    /// Worker threads patching documents (0 or 1: all on the calling thread). With more, a
    /// namespace's documents are patched in batches on a pool and written in input order: the
    /// output is byte-identical to a single-threaded run, and memory stays bounded by a fixed
    /// number of batches in flight.
    pub threads: usize,
    /// For progress displays: set to the `db.collection` whose documents are being read,
    /// whenever that changes.
    pub current_namespace: Option<std::sync::Arc<std::sync::Mutex<String>>>,
    /// The documents a subset removes ([`crate::subset::plan_subset`] over the same input).
    pub subset: Option<std::sync::Arc<crate::subset_plan::ArchiveSubset>>,
}

/// What happened to a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamespaceAction {
    /// Kept (possibly rewritten or limited).
    Kept,
    /// Dropped by `exclusions`.
    Excluded,
    /// Dropped because a `collections` list does not name it.
    NotSelected,
    /// Users/roles dropped (no `keep_users`).
    UsersDropped,
    /// The oplog, dropped by [`OplogMode::Drop`].
    OplogDropped,
    /// `config.system.preimages` or `config.image_collection`: whole pre- and post-images of
    /// other collections' documents under names no rule covers, always dropped.
    ImagesDropped,
    /// Named in the rules' `schema_only`: its prelude entry (metadata and indexes) and an
    /// empty body are kept, its documents and oplog entries dropped.
    SchemaOnly,
}

/// What the rewrite does with a namespace.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Decision<'a> {
    Drop(NamespaceAction),
    Keep {
        root: Option<&'a PlanNode>,
        /// `Some(0)` for a `schema_only` collection.
        max_rows: Option<u64>,
        oplog: bool,
        /// `schema_only`: no document and no oplog write is kept.
        schema_only: bool,
    },
}

impl Decision<'_> {
    /// What the summary says about a namespace so decided.
    pub(crate) fn action(&self) -> NamespaceAction {
        match self {
            Decision::Drop(a) => *a,
            Decision::Keep {
                schema_only: true, ..
            } => NamespaceAction::SchemaOnly,
            Decision::Keep { .. } => NamespaceAction::Kept,
        }
    }
}

/// Users and roles, and mongorestore's staging copies of them (`admin.tempusers`,
/// `admin.temproles`, left behind with SCRAM credentials by an interrupted restore).
fn is_users_ns(db: &str, coll: &str) -> bool {
    (db == "admin"
        && matches!(
            coll,
            "system.users" | "system.roles" | "tempusers" | "temproles"
        ))
        || coll == "$admin.system.users"
        || coll == "$admin.system.roles"
}

/// Pre- and post-images of other collections' documents (change streams' `pre_and_post_images`,
/// retryable `findAndModify` images): copies of data under names no rule covers.
fn is_images_ns(db: &str, coll: &str) -> bool {
    db == "config" && matches!(coll, "system.preimages" | "image_collection")
}

fn selected(list: &[String], db: &str, coll: &str) -> bool {
    list.iter().any(|n| {
        n == coll
            || n.strip_prefix(db)
                .and_then(|r| r.strip_prefix('.'))
                .is_some_and(|c| c == coll)
    })
}

/// What a rewrite does with one namespace, for tools that read an archive as the rewriter does
/// (`scan`, `verify`): the same decision, from the same code.
#[derive(Debug, Clone, Copy)]
pub struct NamespaceFate<'a> {
    /// What the rewrite does with it ([`NamespaceAction::Kept`]: its documents are written).
    pub action: NamespaceAction,
    /// The field rules applied to its documents (`None`: copied as they are, or dropped).
    pub plan: Option<&'a PlanNode>,
    /// Its documents are oplog entries (`--oplog`, `local.oplog.rs`): each one is routed by its
    /// target namespace ([`crate::oplog_read`]).
    pub oplog: bool,
}

impl NamespaceFate<'_> {
    /// True when the output holds its documents (rewritten or not).
    pub fn documents_kept(&self) -> bool {
        self.action == NamespaceAction::Kept
    }
}

impl<'a> From<Decision<'a>> for NamespaceFate<'a> {
    fn from(d: Decision<'a>) -> Self {
        let (plan, oplog) = match d {
            Decision::Keep { root, oplog, .. } => (root, oplog),
            Decision::Drop(_) => (None, false),
        };
        NamespaceFate {
            action: d.action(),
            plan,
            oplog,
        }
    }
}

/// The fate of the prelude namespace `db.collection` of kind `kind` under `anon` and
/// `options`. A timeseries collection's body (`system.buckets.X`) shares the fate of its
/// prelude entry `X`. Errors as a rewrite would ([`ErrorKind::TimeseriesRules`]).
pub fn namespace_fate<'a>(
    db: &str,
    collection: &str,
    kind: &CollectionKind,
    anon: &'a Anonymizer,
    options: &RewriteOptions,
) -> Result<NamespaceFate<'a>, ErrorKind> {
    decide(db, collection, kind, anon, options).map(NamespaceFate::from)
}

/// The fate of the target namespace `ns` (`db.collection`) of an oplog entry: what the
/// rewriter does with an insert, update or delete there.
pub fn oplog_target_fate<'a>(
    ns: &str,
    anon: &'a Anonymizer,
    options: &RewriteOptions,
) -> Result<NamespaceFate<'a>, ErrorKind> {
    decide_target(ns, anon, options).map(NamespaceFate::from)
}

/// Decides on an oplog entry's target `db.collection` (a timeseries' `system.buckets.X` as `X`).
pub(crate) fn decide_target<'a>(
    ns: &str,
    anon: &'a Anonymizer,
    options: &RewriteOptions,
) -> Result<Decision<'a>, ErrorKind> {
    let (db, coll) = ns.split_once('.').unwrap_or((ns, ""));
    let (logical, kind) = match coll.strip_prefix("system.buckets.") {
        Some(base) => (base, CollectionKind::Timeseries),
        None => (coll, CollectionKind::Collection),
    };
    decide(db, logical, &kind, anon, options)
}

/// Decides on a collection (its logical name: `X` for timeseries `X`).
pub(crate) fn decide<'a>(
    db: &str,
    coll: &str,
    kind: &CollectionKind,
    anon: &'a Anonymizer,
    options: &RewriteOptions,
) -> Result<Decision<'a>, ErrorKind> {
    if db == "local" && coll == "oplog.rs" {
        // `mongodump -d local -c oplog.rs`: a replica set's oplog dumped as a collection. Its
        // documents are oplog entries: they get their target namespaces' rules, like `--oplog`.
        return Ok(match anon.resolve(Some(db), coll) {
            Disposition::Exclude(ExcludeReason::Excluded) => {
                Decision::Drop(NamespaceAction::Excluded)
            }
            Disposition::Exclude(ExcludeReason::NotSelected) => {
                Decision::Drop(NamespaceAction::NotSelected)
            }
            _ if options
                .collections
                .as_ref()
                .is_some_and(|l| !selected(l, db, coll)) =>
            {
                Decision::Drop(NamespaceAction::NotSelected)
            }
            Disposition::Keep(plan) => match options.oplog {
                OplogMode::Drop => Decision::Drop(NamespaceAction::OplogDropped),
                OplogMode::Apply => Decision::Keep {
                    root: None,
                    max_rows: plan.max_rows(),
                    oplog: true,
                    schema_only: false,
                },
            },
        });
    }
    if db.is_empty() && coll == "oplog" {
        return Ok(match options.oplog {
            OplogMode::Drop => Decision::Drop(NamespaceAction::OplogDropped),
            OplogMode::Apply => Decision::Keep {
                root: None,
                max_rows: None,
                oplog: true,
                schema_only: false,
            },
        });
    }
    if is_images_ns(db, coll) {
        return Ok(Decision::Drop(NamespaceAction::ImagesDropped));
    }
    let users = is_users_ns(db, coll);
    if users && !options.keep_users {
        return Ok(Decision::Drop(NamespaceAction::UsersDropped));
    }
    // Needed to restore kept users and roles.
    let support = users || (options.keep_users && db == "admin" && coll == "system.version");
    let plan = match anon.resolve(Some(db), coll) {
        Disposition::Exclude(ExcludeReason::Excluded) => {
            return Ok(Decision::Drop(NamespaceAction::Excluded))
        }
        Disposition::Exclude(ExcludeReason::NotSelected) if !support => {
            return Ok(Decision::Drop(NamespaceAction::NotSelected))
        }
        Disposition::Exclude(_) => None,
        Disposition::Keep(plan) => Some(plan),
    };
    if let Some(list) = &options.collections {
        if !support && !selected(list, db, coll) {
            return Ok(Decision::Drop(NamespaceAction::NotSelected));
        }
    }
    let (root, max_rows) = plan.map_or((None, None), |p| (p.root(), p.max_rows()));
    if *kind == CollectionKind::Timeseries && (root.is_some() || max_rows.is_some()) {
        return Err(ErrorKind::TimeseriesRules);
    }
    // `schema_only`: metadata and indexes (the prelude entry) and an empty body; dropping
    // every bucket of a timeseries collection is fine too.
    let schema_only = plan.is_some_and(|p| p.schema_only());
    Ok(Decision::Keep {
        root: if schema_only { None } else { root },
        max_rows: if schema_only { Some(0) } else { max_rows },
        oplog: false,
        schema_only,
    })
}
