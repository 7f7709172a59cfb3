//! Decimated buckets of HTTP compute equal buckets computed naively from the raw points of
//! `[start, end]`, laid from `start`.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::{channel_node, empty_context, ts_of, MemSource, Val};
use proptest::prelude::*;
use sightline_compute::{plan, ChannelKind};
use wire::scout_compute::ComputeNodeResponse;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn numeric_buckets_match_naive(points in prop::collection::vec((0usize..3, -5_000i64..5_000, -1e6f64..1e6), 1..300),
            buckets in 1i32..20, start in -6_000i64..0, span in 1i64..12_000) {
        let mut source = MemSource::new();
        source.channel("p", ChannelKind::Numeric, None);
        for &(s, t, v) in &points {
            source.write("p", &[("stand", ["a", "b", "c"][s])], t, Val::Num(v));
        }
        let end = start + span;
        let plan = plan(&channel_node("numeric", "p", &[], Some(buckets)), &empty_context(), &source).unwrap();
        let result = plan.compute(&source, start, end).unwrap();
        // Reference: the merged raw points (later writes replaced earlier ones per series).
        let mut raw: Vec<(i64, usize, f64)> = Vec::new();
        let mut seen = std::collections::BTreeMap::new();
        for &(s, t, v) in &points { seen.insert((s, t), v); }
        for (&(s, t), &v) in &seen { raw.push((t, s, v)); }
        // Ties across series merge in series-id order; MemSource numbers series by first write.
        let mut order: Vec<usize> = Vec::new();
        for &(s, _, _) in &points { if !order.contains(&s) { order.push(s); } }
        raw.sort_by_key(|&(t, s, _)| (t, order.iter().position(|&o| o == s)));
        let in_range = raw.iter().filter(|(t, _, _)| *t >= start && *t <= end).count();
        // HTTP compute lays buckets from `start`.
        let width = (span + i64::from(buckets) - 1) / i64::from(buckets);
        match result {
            ComputeNodeResponse::Numeric(p) => {
                prop_assert!(in_range <= buckets as usize);
                prop_assert_eq!(p.values.len(), in_range);
            }
            ComputeNodeResponse::BucketedNumeric(p) => {
                prop_assert!(in_range > buckets as usize);
                // Buckets from `start`: exactly the points of `[start, end]`.
                let mut expected = std::collections::BTreeMap::<i64, Vec<(i64, f64)>>::new();
                for &(t, _, v) in &raw {
                    if t >= start && t <= end {
                        expected.entry((t - start).div_euclid(width)).or_default().push((t, v));
                    }
                }
                // A point exactly at the inclusive `end` may open one extra bucket.
                prop_assert!(expected.len() <= buckets as usize + 1);
                prop_assert_eq!(p.buckets.len(), expected.len());
                for ((stamp, b), (k, pts)) in p.timestamps.iter().zip(&p.buckets).zip(&expected) {
                    prop_assert_eq!(ts_of(stamp), start + (k + 1) * width);
                    let n = pts.len() as f64;
                    let mean = pts.iter().map(|p| p.1).sum::<f64>() / n;
                    let var = pts.iter().map(|p| (p.1 - mean).powi(2)).sum::<f64>() / n;
                    let min = pts.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
                    let max = pts.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
                    prop_assert_eq!(b.count.unwrap().0, pts.len() as i64);
                    prop_assert_eq!(b.min.unwrap(), min);
                    prop_assert_eq!(b.max.unwrap(), max);
                    prop_assert!(close(b.mean.unwrap(), mean));
                    prop_assert!(close(b.variance.unwrap(), var) || (b.variance.unwrap() - var).abs() < 1e-3);
                    let fp = b.first_point.as_ref().unwrap();
                    prop_assert_eq!((ts_of(&fp.timestamp), fp.value), pts[0]);
                    match &b.last_point {
                        Some(lp) => prop_assert_eq!((ts_of(&lp.timestamp), lp.value), pts[pts.len() - 1]),
                        None => prop_assert_eq!(pts.len(), 1),
                    }
                }
            }
            other => prop_assert!(false, "unexpected {}", other.variant_name()),
        }
    }

    #[test]
    fn enum_buckets_match_naive(points in prop::collection::vec((-2_000i64..2_000, 0usize..4), 1..200),
            buckets in 1i32..10) {
        let names = ["a", "b", "c", "d"];
        let mut source = MemSource::new();
        source.channel("v", ChannelKind::Enum, None);
        let mut seen = std::collections::BTreeMap::new();
        for &(t, v) in &points {
            source.write("v", &[], t, Val::Str(names[v].into()));
            seen.insert(t, names[v]);
        }
        let (start, end) = (-1_000, 1_000);
        let plan = plan(&channel_node("enum", "v", &[], Some(buckets)), &empty_context(), &source).unwrap();
        let result = plan.compute(&source, start, end).unwrap();
        let width = (2_000 + i64::from(buckets) - 1) / i64::from(buckets);
        if let ComputeNodeResponse::BucketedEnum(p) = result {
            let mut expected = std::collections::BTreeMap::<i64, Vec<(i64, &str)>>::new();
            for (&t, &v) in &seen {
                if t >= start && t <= end {
                    expected.entry((t - start).div_euclid(width)).or_default().push((t, v));
                }
            }
            prop_assert_eq!(p.buckets.len(), expected.len());
            for (b, (_, pts)) in p.buckets.iter().zip(&expected) {
                let mut hist = std::collections::BTreeMap::<&str, i64>::new();
                for (_, v) in pts { *hist.entry(v).or_default() += 1; }
                let got: std::collections::BTreeMap<&str, i64> = b.histogram.iter()
                    .map(|(k, n)| (p.categories[*k as usize].as_str(), n.0)).collect();
                prop_assert_eq!(got, hist);
                prop_assert_eq!(p.categories[b.first_point.value as usize].as_str(), pts[0].1);
            }
        }
    }
}
