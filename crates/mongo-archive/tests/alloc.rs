//! The rewrite path allocates nothing per document: with a transform that allocates nothing
//! itself (`null`), rewriting an archive of 4× the documents allocates no more than a small
//! archive (buffers are reused; untouched subtrees are skipped by their length prefix).

#[path = "integration/common/mod.rs"]
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use common::*;
use mongo_archive::synth::{generate_vec, SynthConfig};
use mongo_archive::RewriteOptions;

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator, only counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const RULES: &str = "
rules:
  pmInvestigator:
    fields:
      Email: null
      FullName.First: null
  pmProject:
    fields:
      Registrations.Email: null
  pmStudy:
    fields:
      Authors.FirstName: null
      ScreeningInfo.Decisions.InvestigatorId: null
";

/// Allocations of one single-threaded rewrite, and the documents it changed.
fn allocations(input: &[u8]) -> (u64, u64) {
    let anon = rules(RULES);
    let mut out = Vec::with_capacity(input.len() + (1 << 20));
    let before = ALLOCS.load(Relaxed);
    let s =
        mongo_archive::rewrite_archive(input, &mut out, &anon, &RewriteOptions::default()).unwrap();
    let n = ALLOCS.load(Relaxed) - before;
    (n, s.namespaces.iter().map(|n| n.docs_changed).sum())
}

#[test]
fn no_allocation_per_document() {
    let gen = |mb: u64| {
        generate_vec(&SynthConfig {
            seed: 9,
            target_bytes: mb << 20,
            ..SynthConfig::default()
        })
    };
    let (small, small_changed) = allocations(&gen(2));
    let (large, large_changed) = allocations(&gen(8));
    assert!(
        large_changed > 3 * small_changed,
        "{small_changed} / {large_changed} documents changed"
    );
    // Per namespace and per block there are a few (names, summaries); per document none. The
    // large archive has thousands more changed documents; allow what its extra namespaces and
    // buffer growth cost, far below one per document.
    eprintln!(
        "allocations: {small} for {small_changed} changed documents, {large} for {large_changed}"
    );
    let extra = large.saturating_sub(small);
    assert!(
        extra < (large_changed - small_changed) / 20,
        "{small} allocations for {small_changed} changed documents, {large} for {large_changed}"
    );
}
