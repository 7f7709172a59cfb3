//! PROTOCOL §4 over a real socket: creation messages, full results and appends (numeric,
//! enum, log), the append rules, `minDelay`, `allowAppends`, raw → bucketed, decimated
//! append-only results, id reuse, unsubscribe, pings and malformed frames.
#![allow(clippy::unwrap_used)]

mod common;

use anyhow::{bail, ensure, Result};
use common::merge::Plot;
use common::*;
use serde_json::{json, Value};
use sightline_server::ServerConfig;
use sightline_wire::persistent_compute::{
    HealthMessage, ServerMessage, SubscriptionCreation, SubscriptionUpdate,
};
use sightline_wire::scout_compute::{ComputeNodeResponse, ComputeUnitResult, UnitResult};
use std::time::{Duration, Instant};
use uuid::Uuid;

const W: i64 = 60 * SEC;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enabled_endpoint_answers_an_empty_object() -> Result<()> {
    let server = TestServer::start().await?;
    let reply = server.get("/persistent-compute/enabled").await?;
    ensure!(reply.status == 200, "status {}", reply.status);
    ensure!(reply.json()? == json!({}), "body {}", reply.text());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creation_success_carries_the_channel_unit() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    let point = |v: f64| json!({"timestamp": ts(BASE - SEC), "value": v});
    let mut with_unit = row_batch("pressure", "double", vec![point(1.0)]);
    with_unit["unit"] = json!("bar");
    server
        .write_rows(&rows(
            &rid,
            vec![with_unit, row_batch("count", "double", vec![point(2.0)])],
        ))
        .await?
        .no_content()?;
    let mut ws = server.connect().await?;

    let id = Uuid::new_v4();
    match ws
        .subscribe(id, appends(numeric_node(&rid, "pressure"), W))
        .await?
    {
        SubscriptionCreation::Success(s) => ensure!(
            s.unit_result == ComputeUnitResult::Single(UnitResult::Success("bar".into())),
            "unitResult {:?}",
            s.unit_result
        ),
        other => bail!("refused: {other:?}"),
    }
    let id = Uuid::new_v4();
    match ws
        .subscribe(id, appends(numeric_node(&rid, "count"), W))
        .await?
    {
        SubscriptionCreation::Success(s) => ensure!(
            matches!(
                s.unit_result,
                ComputeUnitResult::Single(UnitResult::NoUnitAvailable(_))
            ),
            "a channel without unit reported {:?}",
            s.unit_result
        ),
        other => bail!("refused: {other:?}"),
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_full_result_is_sent_at_once_and_min_delay_holds_the_next() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    let node = numeric_node(&rid, "speed");
    server
        .write_doubles(&rid, "speed", &series(BASE - 10 * SEC, SEC, 0..10))
        .await?;
    let mut ws = server.connect().await?;
    let id = Uuid::new_v4();
    // A minute of minDelay: waiting for it before the first result would blow WAIT.
    let sub = subscription(node.clone(), W, options(60_000, Some(true)));
    let full = ws.subscribe_ok(id, sub).await?;
    let fresh = server.compute(&node, BASE - W, BASE).await?;
    ensure!(
        full == fresh,
        "first full result {full:?} differs from compute {fresh:?}"
    );
    ensure!(numeric_points(&full)?.len() == 10, "full holds {full:?}");

    server.advance(SEC);
    server
        .write_doubles(&rid, "speed", &[(BASE + SEC, 42.0)])
        .await?;
    ws.expect_silence(id, Duration::from_millis(1500)).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_are_at_most_one_per_min_delay() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    let node = numeric_node(&rid, "rate");
    server
        .write_doubles(&rid, "rate", &[(BASE - SEC, 0.0)])
        .await?;
    let mut ws = server.connect().await?;
    let mut sub = Tracked::new(W);
    let min_delay = Duration::from_millis(400);
    sub.start(
        &mut ws,
        subscription(node.clone(), W, options(400, Some(true))),
    )
    .await?;
    let first = Instant::now();

    // 40 writes, 40 ms apart: without minDelay that is up to 40 updates.
    for i in 1..=40 {
        server.advance(10 * MS);
        server
            .write_doubles(&rid, "rate", &[(BASE + i * 10 * MS, i as f64)])
            .await?;
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    // Drain until the merged window holds the last point.
    let deadline = Instant::now() + WAIT;
    loop {
        sub.next(&mut ws).await?;
        let done =
            matches!(&sub.merged()?.plot, Plot::Numeric(v) if v.last().map(|p| p.1) == Some(40.0));
        if done {
            break;
        }
        ensure!(Instant::now() < deadline, "last write never arrived");
    }
    let last = Instant::now();
    let later = sub.updates.len() - 1;
    // The server sends update k no earlier than k·minDelay after the first; one minDelay
    // of slack absorbs transit jitter.
    let allowed = (last - first).as_secs_f64() / min_delay.as_secs_f64() + 1.0;
    ensure!(
        (later as f64) <= allowed,
        "{later} updates in {:?} with minDelay {min_delay:?}",
        last - first
    );
    ensure!(later >= 2, "updates did not keep flowing: {later}");
    sub.assert_matches_compute(&server, &node, "after rate-limited appends")
        .await
}

/// Appends for a raw plot of `kind`; a late point 3 s back and a late replacement must be
/// corrected through `start`.
async fn late_points_are_corrected(kind: &str) -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    let node = series_node(kind, &rid, "ch", &[], None);
    let write = |t: i64, v: i64| {
        let server = &server;
        let rid = rid.clone();
        async move {
            match kind {
                "numeric" => server.write_doubles(&rid, "ch", &[(t, v as f64)]).await,
                "enum" => {
                    server
                        .write_strings(&rid, "ch", &[(t, &format!("state-{v}"))])
                        .await
                }
                _ => {
                    server
                        .write_log_lines(&rid, "ch", &[(t, &format!("line {v}"))])
                        .await
                }
            }
        }
    };
    for i in 0..10 {
        write(BASE - 10 * SEC + i * SEC, i).await?;
    }
    let mut ws = server.connect().await?;
    let mut sub = Tracked::new(W);
    sub.start(&mut ws, appends(node.clone(), W)).await?;
    ensure!(
        sub.merged()?.plot.len() == 10,
        "full result: {:?}",
        sub.merged()?.plot
    );

    // In order.
    server.advance(SEC);
    let now = server.now();
    write(now, 100).await?;
    let (start, end) = sub
        .settle(&mut ws, &server, &node, "after an in-order point")
        .await?;
    ensure!(
        start <= now && end >= now,
        "append [{start}, {end}] misses the point at {now}"
    );

    // A new point 3 s in the past.
    server.advance(SEC);
    let late = server.now() - 3 * SEC + 500 * MS;
    write(late, 101).await?;
    let (start, _) = sub
        .settle(&mut ws, &server, &node, "after a late point")
        .await?;
    ensure!(
        start <= late,
        "append start {start} is after the late point {late}"
    );

    // A late replacement of a stored point 3 s back.
    server.advance(SEC);
    let replaced = server.now() - 3 * SEC - 500 * MS;
    let stored = match &sub.merged()?.plot {
        Plot::Numeric(v) => v.iter().map(|p| p.0).filter(|t| *t <= replaced).max(),
        Plot::Enum(v) => v.iter().map(|p| p.0).filter(|t| *t <= replaced).max(),
        Plot::Log(v) => v.iter().map(|p| p.0).filter(|t| *t <= replaced).max(),
        other => bail!("unexpected plot {}", other.kind()),
    }
    .unwrap();
    write(stored, 102).await?;
    let (start, _) = sub
        .settle(&mut ws, &server, &node, "after a replacement")
        .await?;
    ensure!(
        start <= stored,
        "append start {start} is after the replaced point {stored}"
    );
    let holds_new = match &sub.merged()?.plot {
        Plot::Numeric(v) => v.contains(&(stored, 102.0)),
        Plot::Enum(v) => v.iter().any(|p| p.0 == stored && p.1 == "state-102"),
        Plot::Log(v) => v.iter().any(|p| p.0 == stored && p.1.message == "line 102"),
        _ => false,
    };
    ensure!(
        holds_new,
        "replacement not in the merged window: {:?}",
        sub.merged()?.plot
    );
    ensure!(
        sub.merged()?.plot.len() == 12,
        "points: {:?}",
        sub.merged()?.plot
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numeric_appends_correct_late_points() -> Result<()> {
    late_points_are_corrected("numeric").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enum_appends_correct_late_points() -> Result<()> {
    late_points_are_corrected("enum").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_appends_correct_late_points() -> Result<()> {
    late_points_are_corrected("log").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_end_strictly_increases_even_if_the_clock_stalls_or_steps_back() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    let node = numeric_node(&rid, "x");
    server
        .write_doubles(&rid, "x", &[(BASE - SEC, 0.0)])
        .await?;
    let mut ws = server.connect().await?;
    let mut sub = Tracked::new(W);
    sub.start(&mut ws, appends(node.clone(), W)).await?;
    // The clock does not move.
    for i in 1..=3 {
        server
            .write_doubles(&rid, "x", &[(BASE - SEC + i * MS, i as f64)])
            .await?;
        sub.settle(&mut ws, &server, &node, "stalled clock").await?;
    }
    // The clock steps back 5 s.
    server.clock().set(BASE - 5 * SEC);
    server
        .write_doubles(&rid, "x", &[(BASE - 6 * SEC, 9.0)])
        .await?;
    sub.settle(&mut ws, &server, &node, "clock stepped back")
        .await?;
    let ends: Vec<i64> = sub
        .updates
        .iter()
        .filter_map(|u| match u {
            SubscriptionUpdate::Append(a) => sightline_wire::time::timestamp_to_nanos(&a.end).ok(),
            _ => None,
        })
        .collect();
    ensure!(ends.len() >= 4, "appends: {ends:?}");
    ensure!(
        ends.windows(2).all(|w| w[1] > w[0]),
        "ends not strictly increasing: {ends:?}"
    );
    // The merge model checked rule 1 as well; the late point must be there.
    let Plot::Numeric(v) = &sub.merged()?.plot else {
        bail!("not numeric")
    };
    ensure!(v.contains(&(BASE - 6 * SEC, 9.0)), "merged: {v:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_allow_appends_every_update_is_a_full_result() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    let node = numeric_node(&rid, "x");
    server
        .write_doubles(&rid, "x", &[(BASE - 2 * SEC, 0.0)])
        .await?;
    let mut ws = server.connect().await?;
    let (off, absent) = (Uuid::new_v4(), Uuid::new_v4());
    ws.subscribe_ok(off, subscription(node.clone(), W, options(0, Some(false))))
        .await?;
    ws.subscribe_ok(absent, subscription(node.clone(), W, options(0, None)))
        .await?;
    for i in 1..=3 {
        server.advance(SEC);
        server
            .write_doubles(
                &rid,
                "x",
                &[
                    (server.now(), i as f64),
                    (server.now() - 3 * SEC, -i as f64),
                ],
            )
            .await?;
        let fresh = server
            .compute(&node, server.now() - W, server.now())
            .await?;
        for id in [off, absent] {
            // Every update is a full result; within SPURIOUS updates one equals compute.
            let mut seen = Vec::new();
            loop {
                match ws.update(id).await? {
                    SubscriptionUpdate::Full(f) if f.result == fresh => break,
                    SubscriptionUpdate::Full(f) => seen.push(f.result),
                    other => bail!("subscription without appends got {other:?}"),
                }
                ensure!(
                    seen.len() <= SPURIOUS,
                    "no full result equal to compute {fresh:?}: {seen:?}"
                );
            }
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passing_buckets_sends_a_new_bucketed_full_result() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    let node = series_node("numeric", &rid, "x", &[], Some(10));
    server
        .write_doubles(&rid, "x", &series(BASE - 30 * SEC, SEC, 0..5))
        .await?;
    let mut ws = server.connect().await?;
    let mut sub = Tracked::new(W);
    sub.start(&mut ws, appends(node.clone(), W)).await?;
    ensure!(
        sub.merged()?.plot.kind() == "numeric",
        "5 points should be raw"
    );

    server.advance(SEC);
    server
        .write_doubles(&rid, "x", &series(BASE - 20 * SEC, SEC, 0..3))
        .await?;
    sub.settle(&mut ws, &server, &node, "raw appends").await?;
    ensure!(sub.merged()?.plot.len() == 8);

    server.advance(SEC);
    server
        .write_doubles(&rid, "x", &series(BASE - 10 * SEC, SEC, 0..5))
        .await?;
    let mut update = sub.next(&mut ws).await?;
    for _ in 0..SPURIOUS {
        if matches!(update, SubscriptionUpdate::Full(_)) {
            break;
        }
        update = sub.next(&mut ws).await?;
    }
    match update {
        SubscriptionUpdate::Full(f) => match &f.result {
            ComputeNodeResponse::BucketedNumeric(p) => {
                let count: i64 = p.buckets.iter().map(|b| b.count.map_or(0, |c| c.0)).sum();
                ensure!(count == 13, "buckets count {count} points, 13 were written");
                ensure!(
                    p.buckets.len() <= 10,
                    "{} buckets for buckets = 10",
                    p.buckets.len()
                );
            }
            other => bail!("13 points > 10 buckets gave {}", other.variant_name()),
        },
        other => bail!("type change must come as a full result, got {other:?}"),
    }
    // Appends now carry buckets (rule 4 is checked by the merge model).
    server.advance(SEC);
    server
        .write_doubles(&rid, "x", &[(server.now(), 7.0), (BASE - 25 * SEC, 8.0)])
        .await?;
    sub.settle(&mut ws, &server, &node, "bucketed appends")
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decimated_append_only_sends_aligned_bucket_appends() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    let window = 10 * SEC;
    // 10 s over 10 buckets: 1 s buckets.
    let node = series_node("numeric", &rid, "x", &[], Some(10));
    let mut opts = options(0, None);
    opts["resultConfiguration"] = append_only(true);
    server
        .write_doubles(&rid, "x", &series(BASE - 10 * SEC, 250 * MS, 0..41))
        .await?;
    let mut ws = server.connect().await?;
    let mut sub = Tracked::new(window);
    sub.start(&mut ws, subscription(node.clone(), window, opts.clone()))
        .await?;
    let Plot::BucketedNumeric(full) = &sub.merged()?.plot else {
        bail!(
            "decimated append-only must start bucketed, got {}",
            sub.merged()?.plot.kind()
        )
    };
    let stamps: Vec<i64> = full.keys().copied().collect();
    let width = stamps.windows(2).map(|w| w[1] - w[0]).min().unwrap();
    ensure!(
        stamps.iter().all(|s| s % width == 0),
        "bucket ends {stamps:?} are not multiples of the width {width}"
    );

    for step in 1..=4 {
        server.advance(500 * MS);
        let now = server.now();
        // One point now, one 3 s late (lands in an earlier bucket).
        server
            .write_doubles(
                &rid,
                "x",
                &[(now, step as f64), (now - 3 * SEC + 100 * MS, -step as f64)],
            )
            .await?;
        sub.settle_with(&mut ws, &server, &node, "decimated appends", |a| {
            let sightline_wire::persistent_compute::ComputeNodeAppendResponse::BucketedNumeric(p) =
                &a.result
            else {
                bail!("decimated append is {}", a.result.variant_name())
            };
            for t in &p.timestamps {
                let s = sightline_wire::time::timestamp_to_nanos(t)?;
                ensure!(
                    s % width == 0,
                    "append bucket end {s} not aligned to {width}"
                );
            }
            Ok(())
        })
        .await?;
    }
    // And a fresh subscription at the same time agrees.
    let end = sub.merged()?.last_end.unwrap();
    let now = server.now();
    let fresh = ws
        .subscribe_ok(Uuid::new_v4(), subscription(node, window, opts))
        .await?;
    let fresh = Plot::from_full(&fresh).map_err(anyhow::Error::msg)?;
    assert_same(
        &sub.merged()?.plot.restrict(end - window, now),
        &fresh.restrict(end - window, now),
        "fresh decimated subscription",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_subscribe_entry_gets_its_own_creation_message() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    server
        .write_doubles(&rid, "x", &[(BASE - SEC, 1.0)])
        .await?;
    let mut ws = server.connect().await?;
    let (a, bad, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let node = numeric_node(&rid, "x");
    ws.send_json(&json!({"type": "subscribe", "subscribe": {
        a.to_string(): appends(node.clone(), W),
        bad.to_string(): appends(node.clone(), -SEC),
        c.to_string(): appends(node.clone(), W),
    }}))
    .await?;
    for id in [a, c] {
        ensure!(
            matches!(ws.creation(id).await?, SubscriptionCreation::Success(_)),
            "{id} refused"
        );
        ensure!(
            matches!(ws.update(id).await?, SubscriptionUpdate::Full(_)),
            "{id} first update"
        );
    }
    match ws.creation(bad).await? {
        SubscriptionCreation::Error(e) => ensure!(
            e.serializable_error.name == "PersistentCompute:WindowNegative",
            "{e:?}"
        ),
        other => bail!("negative window accepted: {other:?}"),
    }
    // Exactly one creation message each.
    ws.expect_silence(bad, Duration::from_millis(300)).await?;
    Ok(())
}

/// A dashboard subscribes to all its panels in one message: every entry is answered before
/// any of them gets its (possibly large) first result, so the last answer does not wait
/// behind the other panels' results.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscribe_message_is_answered_before_its_first_results() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    let points: Vec<(i64, f64)> = (0..2_000)
        .map(|i| (BASE - W + i * 20 * MS, i as f64))
        .collect();
    for channel in ["a", "b", "c", "d"] {
        server.write_doubles(&rid, channel, &points).await?;
    }
    let mut ws = server.connect().await?;
    let entries: Vec<(Uuid, Value)> = (0..40)
        .map(|i| {
            let node = numeric_node(&rid, ["a", "b", "c", "d"][i % 4]);
            (Uuid::new_v4(), appends(node, W))
        })
        .collect();
    let subscribe: serde_json::Map<String, Value> = entries
        .iter()
        .map(|(id, sub)| (id.to_string(), sub.clone()))
        .collect();
    ws.send_json(&json!({"type": "subscribe", "subscribe": subscribe}))
        .await?;
    let (mut answered, mut results) = (0, 0);
    while results < entries.len() {
        match ws.next().await? {
            ServerMessage::SubscriptionCreation(c) => {
                ensure!(
                    matches!(c.creation, SubscriptionCreation::Success(_)),
                    "{} refused",
                    c.subscription_id
                );
                ensure!(results == 0, "an answer came after {results} first results");
                answered += 1;
            }
            ServerMessage::SubscriptionUpdate(u) => {
                ensure!(
                    answered == entries.len(),
                    "a first result came after only {answered} of {} answers",
                    entries.len()
                );
                ensure!(
                    matches!(u.update, SubscriptionUpdate::Full(_)),
                    "first update of {} is not a full result",
                    u.subscription_id
                );
                results += 1;
            }
            ServerMessage::Health(_) => {}
            other => bail!("unexpected message {other:?}"),
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reusing_a_live_id_replaces_the_subscription() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    let unit = |channel: &str, unit: &str, v: f64| {
        let mut b = row_batch(
            channel,
            "double",
            vec![json!({"timestamp": ts(BASE - SEC), "value": v})],
        );
        b["unit"] = json!(unit);
        b
    };
    server
        .write_rows(&rows(
            &rid,
            vec![unit("a", "bar", 1.0), unit("b", "psi", 2.0)],
        ))
        .await?
        .no_content()?;
    let mut ws = server.connect().await?;
    let id = Uuid::new_v4();
    let first = ws
        .subscribe_ok(id, appends(numeric_node(&rid, "a"), W))
        .await?;
    ensure!(numeric_points(&first)? == vec![(BASE - SEC, 1.0)]);

    match ws
        .subscribe(id, appends(numeric_node(&rid, "b"), W))
        .await?
    {
        SubscriptionCreation::Success(s) => ensure!(
            s.unit_result == ComputeUnitResult::Single(UnitResult::Success("psi".into())),
            "replacement reports unit {:?}",
            s.unit_result
        ),
        other => bail!("replacement refused: {other:?}"),
    }
    match ws.update(id).await? {
        SubscriptionUpdate::Full(f) => ensure!(
            numeric_points(&f.result)? == vec![(BASE - SEC, 2.0)],
            "replacement's full result is {:?}",
            f.result
        ),
        other => bail!("replacement's first update: {other:?}"),
    }
    // The old subscription is gone: writes to `a` produce nothing for the id.
    server.advance(SEC);
    server
        .write_doubles(&rid, "a", &[(server.now(), 10.0)])
        .await?;
    ws.expect_silence(id, Duration::from_millis(800)).await?;
    // The new one runs.
    server
        .write_doubles(&rid, "b", &[(server.now(), 20.0)])
        .await?;
    for _ in 0..=SPURIOUS {
        match ws.update(id).await? {
            SubscriptionUpdate::Append(a) => {
                let sightline_wire::persistent_compute::ComputeNodeAppendResponse::Numeric(p) =
                    &a.result
                else {
                    bail!("append kind {}", a.result.variant_name())
                };
                ensure!(
                    !p.values.contains(&10.0),
                    "the replaced subscription's data arrived: {p:?}"
                );
                if p.values.contains(&20.0) {
                    return Ok(());
                }
            }
            other => bail!("expected an append for `b`, got {other:?}"),
        }
    }
    bail!("the write to `b` never reached the replacement")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsubscribe_silences_the_id() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    let node = numeric_node(&rid, "x");
    server
        .write_doubles(&rid, "x", &[(BASE - SEC, 1.0)])
        .await?;
    let mut ws = server.connect().await?;
    let (gone, kept) = (Uuid::new_v4(), Uuid::new_v4());
    ws.subscribe_ok(gone, appends(node.clone(), W)).await?;
    ws.subscribe_ok(kept, appends(node.clone(), W)).await?;
    ws.send_json(&json!({"type": "unsubscribe", "unsubscribe": [gone.to_string()]}))
        .await?;
    ws.round_trip().await?;
    for i in 1..=3 {
        server.advance(SEC);
        server
            .write_doubles(&rid, "x", &[(server.now(), i as f64)])
            .await?;
        ensure!(matches!(
            ws.update(kept).await?,
            SubscriptionUpdate::Append(_)
        ));
    }
    ws.expect_silence(gone, Duration::from_millis(500)).await?;
    // Unsubscribing an unknown id is harmless.
    ws.send_json(&json!({"type": "unsubscribe", "unsubscribe": [Uuid::new_v4().to_string()]}))
        .await?;
    ws.round_trip().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_ping_gets_a_pong_with_the_original_time() -> Result<()> {
    let server = TestServer::start().await?;
    let mut ws = server.connect().await?;
    // Any offset and fraction length on input; the instant must come back.
    for sent in [
        "2026-11-28T17:50:49.123456789+02:00",
        "2026-11-28T15:50:49Z",
        "2026-11-28T15:50:49.5Z",
    ] {
        ws.send_json(&json!({"type": "ping", "ping": {"sentAt": sent}}))
            .await?;
        let pong = ws
            .health(WAIT, |h| match h {
                HealthMessage::Pong(p) => Some(p.clone()),
                _ => None,
            })
            .await?;
        let expected = chrono::DateTime::parse_from_rfc3339(sent)?;
        ensure!(
            pong.ping_originally_sent_at.0 == expected,
            "pong for {sent} carries {:?}",
            pong.ping_originally_sent_at
        );
        let age = chrono::Utc::now() - pong.sent_at.0;
        ensure!(
            age.num_seconds().abs() < 60,
            "pong sentAt {:?} is not now",
            pong.sent_at
        );
    }
    Ok(())
}

fn quick_pings() -> ServerConfig {
    ServerConfig {
        ping_interval: Duration::from_millis(300),
        ..ServerConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_pings_an_idle_client_and_closes_it_after_three_silent_intervals() -> Result<()> {
    let server = TestServer::start_with(quick_pings(), None).await?;
    let opened = Instant::now();
    let mut ws = server.connect().await?;
    ws.health(WAIT, |h| matches!(h, HealthMessage::Ping(_)).then_some(()))
        .await?;
    let code = ws.closed_within(WAIT).await?;
    let open_for = opened.elapsed();
    ensure!(
        code == Some(tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode::Away),
        "idle close code {code:?}"
    );
    ensure!(
        open_for >= Duration::from_millis(600),
        "closed after {open_for:?}, before three 300 ms intervals"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_answers_pings_stays_connected() -> Result<()> {
    let server = TestServer::start_with(quick_pings(), None).await?;
    let mut ws = server.connect().await?;
    let until = Instant::now() + Duration::from_millis(2000);
    let mut pings = 0;
    while Instant::now() < until {
        let ping = ws
            .health(WAIT, |h| match h {
                HealthMessage::Ping(p) => Some(p.clone()),
                _ => None,
            })
            .await?;
        pings += 1;
        let now = sightline_wire::conjure::DateTime::now();
        ws.send_json(
            &json!({"type": "pong", "pong": {"pingOriginallySentAt": ping.sent_at, "sentAt": now}}),
        )
        .await?;
    }
    ensure!(
        pings >= 2,
        "only {pings} server pings in 2 s at a 300 ms interval"
    );
    ws.round_trip().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_get_client_message_errors_and_the_connection_keeps_working() -> Result<()>
{
    let server = TestServer::manual().await?;
    let rid = rid();
    server
        .write_doubles(&rid, "x", &[(BASE - SEC, 1.0)])
        .await?;
    let mut ws = server.connect().await?;
    let frames = [
        "this is not json".to_string(),
        "{\"type\": \"subscribe\", \"subscribe\": ".to_string(),
        json!({"type": "frobnicate", "frobnicate": {}}).to_string(),
        json!({"type": "ping", "ping": {"sentAt": 12345}}).to_string(),
        json!({"type": "unsubscribe", "unsubscribe": "not-a-list"}).to_string(),
        json!({"type": "subscribe", "subscribe": {Uuid::new_v4().to_string(): {"computeRequest": 5}}}).to_string(),
        json!({"type": "subscribe", "subscribe": {"not-a-uuid": appends(numeric_node(&rid, "x"), W)}}).to_string(),
    ];
    for frame in &frames {
        ws.send_text(frame).await?;
        let error = ws
            .health(WAIT, |h| match h {
                HealthMessage::ClientMessageError(e) => Some(e.error.clone()),
                _ => None,
            })
            .await?;
        ensure!(
            error.name == "PersistentCompute:InvalidClientMessage" && error.status_code == 400,
            "frame {frame} answered {error:?}"
        );
    }
    let full = ws
        .subscribe_ok(Uuid::new_v4(), appends(numeric_node(&rid, "x"), W))
        .await?;
    ensure!(numeric_points(&full)? == vec![(BASE - SEC, 1.0)]);
    ws.round_trip().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucketed_results_return_to_raw_with_hysteresis() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    let window = 10 * SEC;
    let node = series_node("numeric", &rid, "x", &[], Some(10));
    // 13 points, BASE − 9 s .. BASE − 3 s every 0.5 s.
    server
        .write_doubles(&rid, "x", &series(BASE - 9 * SEC, 500 * MS, 0..13))
        .await?;
    let mut ws = server.connect().await?;
    let mut sub = Tracked::new(window);
    sub.start(&mut ws, appends(node.clone(), window)).await?;
    ensure!(
        sub.merged()?.plot.kind() == "bucketedNumeric",
        "13 points > 10 buckets: {}",
        sub.merged()?.plot.kind()
    );

    // Window (BASE − 7.2 s, BASE + 2.8 s]: 9 old points + 1 new = 10 = buckets. A server
    // without hysteresis would switch back to raw here.
    server.clock().set(BASE + 2800 * MS);
    server
        .write_doubles(&rid, "x", &[(BASE + 2800 * MS, 100.0)])
        .await?;
    match sub.next(&mut ws).await? {
        SubscriptionUpdate::Append(_) => {}
        other => bail!("at exactly `buckets` points the result flapped back: {other:?}"),
    }
    ensure!(sub.merged()?.plot.kind() == "bucketedNumeric");

    // Window (BASE + 0.5 s, BASE + 10.5 s]: 2 points, well below the limit: raw again.
    // The server's idle tick may see the slid window before the write does, so allow one
    // extra update; the switch itself must be a full result (the merge model refuses a
    // raw append after a bucketed full result).
    let fulls = sub.merged()?.fulls;
    server.clock().set(BASE + 10_500 * MS);
    server
        .write_doubles(&rid, "x", &[(BASE + 10_500 * MS, 101.0)])
        .await?;
    let expected = vec![(BASE + 2800 * MS, 100.0), (BASE + 10_500 * MS, 101.0)];
    for _ in 0..=SPURIOUS + 1 {
        sub.next(&mut ws).await?;
        if matches!(&sub.merged()?.plot, Plot::Numeric(v) if *v == expected) {
            break;
        }
    }
    let merged = sub.merged()?;
    ensure!(
        merged.plot == Plot::Numeric(expected),
        "merged window {:?}",
        merged.plot
    );
    ensure!(
        merged.fulls == fulls + 1,
        "bucketed -> raw took {} full results",
        merged.fulls - fulls
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_point_stored_in_the_future_is_sent_once_it_enters_the_window() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    let node = numeric_node(&rid, "x");
    // A writer whose clock runs 2 s ahead of the server's.
    server
        .write_doubles(&rid, "x", &[(BASE - SEC, 1.0), (BASE + 2 * SEC, 2.0)])
        .await?;
    let mut ws = server.connect().await?;
    let mut sub = Tracked::new(W);
    sub.start(&mut ws, appends(node.clone(), W)).await?;
    ensure!(
        sub.merged()?.plot.len() == 1,
        "future point in the first full result"
    );
    server.advance(3 * SEC);
    // No further writes: the server's own time must bring the point in.
    for _ in 0..=SPURIOUS {
        sub.next(&mut ws).await?;
        let Plot::Numeric(v) = &sub.merged()?.plot else {
            bail!("not numeric")
        };
        if v.contains(&(BASE + 2 * SEC, 2.0)) {
            return Ok(());
        }
    }
    bail!("merged window {:?} never got the point", sub.merged()?.plot)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_made_before_the_first_write_fills_in() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    let node = numeric_node(&rid, "later");
    let mut ws = server.connect().await?;
    let mut sub = Tracked::new(W);
    sub.start(&mut ws, appends(node.clone(), W)).await?;
    ensure!(
        sub.merged()?.plot == Plot::Numeric(vec![]),
        "{:?}",
        sub.merged()?.plot
    );
    server.advance(SEC);
    server
        .write_doubles(&rid, "later", &[(BASE + SEC, 1.0), (BASE - 2 * SEC, 2.0)])
        .await?;
    sub.settle(&mut ws, &server, &node, "first write after subscribe")
        .await?;
    ensure!(sub.merged()?.plot.len() == 2, "{:?}", sub.merged()?.plot);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tag_narrowed_subscription_follows_only_its_series() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    let write = |stand: &'static str, t: i64, v: f64| {
        let server = &server;
        let body = columnar(
            &rid,
            vec![double_column("temp", &[("stand", stand)], &[(t, v)])],
        );
        async move { server.write_columns(&body).await?.no_content() }
    };
    write("A", BASE - 2 * SEC, 1.0).await?;
    write("B", BASE - 2 * SEC, 2.0).await?;
    let node_a = series_node("numeric", &rid, "temp", &[("stand", "A")], None);
    let node_all = numeric_node(&rid, "temp");
    let mut ws = server.connect().await?;
    let mut a = Tracked::new(W);
    a.start(&mut ws, appends(node_a.clone(), W)).await?;
    let mut all = Tracked::new(W);
    all.start(&mut ws, appends(node_all.clone(), W)).await?;
    ensure!(a.merged()?.plot == Plot::Numeric(vec![(BASE - 2 * SEC, 1.0)]));
    ensure!(all.merged()?.plot.len() == 2);

    server.advance(SEC);
    write("B", BASE + SEC, 20.0).await?;
    all.settle(&mut ws, &server, &node_all, "all series after a B write")
        .await?;
    write("A", BASE + SEC, 10.0).await?;
    all.settle(&mut ws, &server, &node_all, "all series after an A write")
        .await?;
    // `a` may or may not have seen an (empty) append for the B write; merged it must hold
    // exactly A's points.
    while a.merged()?.plot.len() < 2 {
        a.next(&mut ws).await?;
    }
    ensure!(
        a.merged()?.plot == Plot::Numeric(vec![(BASE - 2 * SEC, 1.0), (BASE + SEC, 10.0)]),
        "stand=A window {:?}",
        a.merged()?.plot
    );
    a.assert_matches_compute(&server, &node_a, "stand=A")
        .await?;
    all.assert_matches_compute(&server, &node_all, "all series")
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_subscriptions_on_one_connection_all_converge() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    let channels: Vec<String> = (0..8).map(|i| format!("ch{i}")).collect();
    for c in &channels {
        server.write_doubles(&rid, c, &[(BASE - SEC, 0.0)]).await?;
    }
    let mut ws = server.connect().await?;
    // 5 subscriptions per channel, 40 in all, subscribed in one message.
    let mut subs: Vec<(Tracked, Value)> = Vec::new();
    let mut message = serde_json::Map::new();
    for c in &channels {
        for _ in 0..5 {
            let node = numeric_node(&rid, c);
            let t = Tracked::new(W);
            message.insert(t.id.to_string(), appends(node.clone(), W));
            subs.push((t, node));
        }
    }
    ws.send_json(&json!({"type": "subscribe", "subscribe": message}))
        .await?;
    for (t, _) in &mut subs {
        ensure!(matches!(
            ws.creation(t.id).await?,
            SubscriptionCreation::Success(_)
        ));
        ensure!(matches!(
            t.next(&mut ws).await?,
            SubscriptionUpdate::Full(_)
        ));
    }
    for round in 1..=3 {
        server.advance(SEC);
        let now = server.now();
        for c in &channels {
            server
                .write_doubles(
                    &rid,
                    c,
                    &[(now, round as f64), (now - 2 * SEC - 1, -(round as f64))],
                )
                .await?;
        }
        for (t, node) in &mut subs {
            t.settle(&mut ws, &server, node, &format!("round {round}"))
                .await?;
        }
    }
    Ok(())
}
