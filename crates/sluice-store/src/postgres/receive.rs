//! ReceiveMessage: hands out visible messages in delivery order, hiding each until the receive's
//! deadline, and moves messages received too often to the dead-letter queue, in one transaction.
//!
//! A standard queue locks only the messages it hands out (`FOR UPDATE SKIP LOCKED`): receives on
//! several nodes go side by side, each passing over what another holds, and never hand out one
//! message twice. A FIFO queue locks its row, so that one receive at a time decides which groups are
//! served; it reads only the heads of the groups it serves and their leading messages.

use std::collections::HashMap;

use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::append::{append, Entry};
use super::encoding::{content_from, to_i64, to_u64};
use super::sql::{
    after_removal, backend, expire, find_queue, prepare, query, received, run, Counters, Queue,
    Removed, Tallies, RECEIVED,
};
use super::PostgresStore;
use crate::{QueueKey, ReceiveOutcome, ReceiveRequest, ReceivedMessage, Redrive, StoreError};

/// How many expired messages of a standard queue one receive removes at most; the rest wait for
/// later calls, and no receive hands them out meanwhile.
const EXPIRE_PER_RECEIVE: i64 = 1000;

/// How often a receive reads a queue's ready messages again from where the floor was at the last
/// such look, and how often from the queue's start: a message left below the floor (its send
/// committed after a later one was received, or the receive that skipped it let it go) waits for
/// the first, and for the second if it was passed over twice.
const LOOK_BACK_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
const FULL_SCAN_EVERY: std::time::Duration = std::time::Duration::from_secs(30);
/// How far before this node's last making ready of due messages the next one looks again.
const PROMOTE_OVERLAP_MS: i64 = 1000;

/// Where this node's receives of each standard queue start reading ready messages: after the last one
/// handed out. Below it lie the index entries of messages received since, kept until vacuum removes
/// them, and messages other receives hold, which every receive would otherwise walk again: under
/// sustained churn a receive reading from the start was measured passing some 15,000 entries (120 ms)
/// to find ten messages, and a queue its consumers keep empty paid that on every receive. The floor
/// only saves work: what lies below it is read by the looks back above, and from the lowest of the
/// messages made ready again when their time had come.
#[derive(Default)]
pub(super) struct ReadyFloors {
    floors: std::sync::Mutex<HashMap<i64, Floor>>,
}

struct Floor {
    seq: i64,
    /// The floor as it was at the last look back, where the next one starts.
    looked_back_from: i64,
    looked_back_at: std::time::Instant,
    full_scan_at: std::time::Instant,
    /// The instant (database clock, milliseconds) of this node's last making ready of messages whose
    /// time had come.
    promoted_until: i64,
    /// When the last one that looked at all of them ran.
    full_promote_at: std::time::Instant,
}

impl ReadyFloors {
    /// Where a receive starts reading, and where it reads again if it finds too few there.
    fn start(&self, queue: i64) -> (i64, i64) {
        let now = std::time::Instant::now();
        let mut floors = self.floors.lock().unwrap_or_else(|e| e.into_inner());
        let floor = floors.entry(queue).or_insert(Floor {
            seq: i64::MIN,
            looked_back_from: i64::MIN,
            looked_back_at: now,
            full_scan_at: now,
            promoted_until: i64::MIN,
            full_promote_at: now,
        });
        if now.duration_since(floor.full_scan_at) >= FULL_SCAN_EVERY {
            floor.full_scan_at = now;
            floor.looked_back_at = now;
            floor.looked_back_from = floor.seq;
            return (i64::MIN, i64::MIN);
        }
        if now.duration_since(floor.looked_back_at) >= LOOK_BACK_EVERY {
            let from = floor.looked_back_from;
            floor.looked_back_at = now;
            floor.looked_back_from = floor.seq;
            return (from, from);
        }
        (floor.seq, floor.looked_back_from)
    }

    /// Starts the queue afresh: its messages were retimed, perhaps to long ago.
    pub(super) fn forget(&self, queue: i64) {
        let mut floors = self.floors.lock().unwrap_or_else(|e| e.into_inner());
        floors.remove(&queue);
    }

    /// Messages whose time came after this instant are made ready again by a receive at `at`: those
    /// due since a second before this node's last such receive, since everything earlier was made
    /// ready then (the second covers other nodes' clocks reading a little apart), except every 30 s,
    /// when all are looked at (in case one was held by a call that then failed). Without this, each
    /// receive would pass the index entries of every message hidden and deleted since the last vacuum.
    fn promote_since(&self, queue: i64, at: i64) -> i64 {
        let now = std::time::Instant::now();
        let mut floors = self.floors.lock().unwrap_or_else(|e| e.into_inner());
        let Some(floor) = floors.get_mut(&queue) else {
            return i64::MIN;
        };
        let since = match now.duration_since(floor.full_promote_at) >= FULL_SCAN_EVERY {
            true => {
                floor.full_promote_at = now;
                i64::MIN
            }
            false => floor.promoted_until.saturating_sub(PROMOTE_OVERLAP_MS),
        };
        floor.promoted_until = floor.promoted_until.max(at);
        since
    }

    /// After a receive: the floor rises to the last message it took (never falls: a receive that took
    /// long to come back must not undo others' progress), or falls to below messages made ready again.
    fn set(&self, queue: i64, taken: Option<i64>, made_ready: Option<i64>) {
        let mut floors = self.floors.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(floor) = floors.get_mut(&queue) {
            if let Some(taken) = taken {
                floor.seq = floor.seq.max(taken);
            }
            if let Some(lowest) = made_ready {
                floor.seq = floor.seq.min(lowest - 1);
                floor.looked_back_from = floor.looked_back_from.min(lowest - 1);
            }
        }
    }
}

/// A message as a receive considers it.
struct Candidate {
    seq: i64,
    visible_at: i64,
    receive_count: i32,
}

impl Candidate {
    /// From a row whose columns `from..from + 3` are seq, visible_at and receive_count.
    fn from_row(row: &Row, from: usize) -> Candidate {
        Candidate {
            seq: row.get(from),
            visible_at: row.get(from + 1),
            receive_count: row.get(from + 2),
        }
    }
}

/// Decides, candidate by candidate in delivery order, which messages are handed out and which go to
/// the dead-letter queue, stopping at the receive's maximum or at the in-flight limit.
struct Picker {
    max_messages: usize,
    max_in_flight: usize,
    max_receive_count: Option<i64>,
    /// Messages in flight, when this receive could reach the limit; `None` when it cannot.
    in_flight: Option<usize>,
    handed: Vec<Candidate>,
    dead: Vec<i64>,
    limit_reached: bool,
    stopped: bool,
}

impl Picker {
    fn new(
        request: &ReceiveRequest,
        max_receive_count: Option<i64>,
        in_flight: Option<usize>,
    ) -> Picker {
        let at_limit = in_flight.is_some_and(|n| n >= request.max_in_flight);
        Picker {
            max_messages: request.max_messages,
            max_in_flight: request.max_in_flight,
            max_receive_count,
            in_flight,
            handed: Vec::new(),
            dead: Vec::new(),
            limit_reached: at_limit,
            stopped: at_limit,
        }
    }

    fn done(&self) -> bool {
        self.stopped || self.handed.len() >= self.max_messages
    }

    /// How many more messages this receive may hand out.
    fn room(&self) -> i64 {
        to_i64(self.max_messages.saturating_sub(self.handed.len()) as u64)
    }

    /// Takes the next candidate in delivery order; false once the receive takes no more.
    fn offer(&mut self, candidate: Candidate) -> bool {
        if self.done() {
            self.stopped = true;
            return false;
        }
        if self.in_flight.is_some_and(|n| n >= self.max_in_flight) {
            self.limit_reached = self.handed.is_empty();
            self.stopped = true;
            return false;
        }
        if self
            .max_receive_count
            .is_some_and(|max| i64::from(candidate.receive_count) >= max)
        {
            self.dead.push(candidate.seq);
            return true;
        }
        if let Some(n) = self.in_flight.as_mut() {
            *n += 1;
        }
        self.handed.push(candidate);
        true
    }
}

/// A dead-letter queue as a receive writes to it: FIFO ones with their row locked.
struct Target {
    queue: Queue,
    counters: Option<Counters>,
}

/// The redrive's dead-letter queue, if it exists and is not the queue itself. Its row is locked after
/// the source's: a receive never locks them the other way round (a dead-letter queue's own redrive
/// never points back at its source).
async fn dead_letter_target<C: GenericClient>(
    client: &C,
    key: &QueueKey,
    redrive: Option<&Redrive>,
) -> Result<Option<Target>, StoreError> {
    let Some(redrive) = redrive.filter(|r| r.target != *key) else {
        return Ok(None);
    };
    let found = async {
        let queue = find_queue(client, &redrive.target).await?;
        let counters = match queue.fifo {
            true => Some(Counters::lock(client, queue.id).await?),
            false => None,
        };
        Ok(Target { queue, counters })
    };
    match found.await {
        Ok(target) => Ok(Some(target)),
        Err(StoreError::QueueNotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Messages in flight, counted only when this receive could reach the limit: the received tally
/// bounds them from above, so far below the limit nothing is counted.
async fn in_flight<C: GenericClient>(
    client: &C,
    queue: i64,
    request: &ReceiveRequest,
    received: i64,
) -> Result<Option<usize>, StoreError> {
    let limit = to_i64(request.max_in_flight as u64);
    if received.saturating_add(to_i64(request.max_messages as u64)) < limit {
        return Ok(None);
    }
    let rows = query(
        client,
        include_str!("queries/in_flight.sql"),
        &[&queue, &request.now, &request.expire_before, &limit],
    )
    .await?;
    let count: i64 = rows.first().map_or(0, |row| row.get(0));
    Ok(Some(usize::try_from(count).unwrap_or(0)))
}

pub(super) async fn receive_messages(
    store: &PostgresStore,
    key: &QueueKey,
    request: ReceiveRequest,
    redrive: Option<&Redrive>,
) -> Result<ReceiveOutcome, StoreError> {
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(backend)?;
    let queue = find_queue(&tx, key).await?;
    let mut counters = match queue.fifo {
        true => Some(Counters::lock(&tx, queue.id).await?),
        false => None,
    };
    let mut target = dead_letter_target(&tx, key, redrive).await?;
    let max_receive_count = target
        .as_ref()
        .and(redrive)
        .map(|r| i64::from(r.max_receive_count));
    let mut tallies = Tallies::default();
    let picker = if queue.fifo {
        pick_fifo(&tx, queue, &request, max_receive_count, &mut tallies).await?
    } else {
        let floors = &store.ready_floors;
        pick_standard(
            &tx,
            floors,
            queue,
            &request,
            max_receive_count,
            &mut tallies,
        )
        .await?
    };
    let mut outcome = ReceiveOutcome {
        in_flight_limit_reached: picker.limit_reached,
        moved: picker.dead.len(),
        ..ReceiveOutcome::default()
    };
    if let (Some(target), Some(redrive), false) = (target.as_mut(), redrive, picker.dead.is_empty())
    {
        move_dead(
            &tx,
            queue,
            &picker.dead,
            target,
            redrive,
            request.now,
            &mut tallies,
        )
        .await?;
    }
    let first_receipts = picker
        .handed
        .iter()
        .filter(|c| c.receive_count == 0)
        .count();
    tallies.add(queue.id, to_i64(first_receipts as u64));
    let seqs: Vec<i64> = picker.handed.iter().map(|c| c.seq).collect();
    let stamps: Vec<i64> = match counters.as_mut() {
        Some(counters) => seqs.iter().map(|_| counters.take_stamp()).collect(),
        None => vec![0; seqs.len()],
    };
    let hand_out = prepare(&tx, include_str!("queries/hand_out.sql")).await?;
    let next_visible = prepare(&tx, include_str!("queries/next_visible.sql")).await?;
    let hand_out_params: [&(dyn ToSql + Sync); 5] = [
        &queue.id,
        &request.visibility_deadline,
        &request.now,
        &seqs,
        &stamps,
    ];
    let next_visible_params: [&(dyn ToSql + Sync); 3] =
        [&queue.id, &request.now, &request.expire_before];
    // The tally goes last: after it this transaction waits for no lock. When the next message
    // becomes visible matters only to a receive that hands nothing out (a long poll waits for it), and
    // the scan for it passes every message hidden since the last vacuum, so only such a receive asks.
    let (handed, next, ()) = tokio::try_join!(
        biased;
        async {
            match seqs.is_empty() {
                true => Ok(Vec::new()),
                false => run(&tx, &hand_out, &hand_out_params).await,
            }
        },
        async {
            match seqs.is_empty() {
                true => run(&tx, &next_visible, &next_visible_params).await,
                false => Ok(Vec::new()),
            }
        },
        tallies.write(&tx),
    )?;
    outcome.next_visible_at = next.first().and_then(|row| row.get(0));
    let mut by_seq: HashMap<i64, &Row> = handed.iter().map(|row| (row.get(0), row)).collect();
    for seq in &seqs {
        // A message deleted with its queue meanwhile is not handed out.
        let Some(row) = by_seq.remove(seq) else {
            continue;
        };
        let receive_count: i32 = row.get(1);
        let first_receive_at: Option<i64> = row.get(2);
        outcome.messages.push(ReceivedMessage {
            seq: to_u64(*seq),
            content: content_from(row.get(3))?,
            receive_count: u32::try_from(receive_count).unwrap_or(u32::MAX),
            first_receive_at: first_receive_at.unwrap_or(request.now),
        });
    }
    if let Some(counters) = &counters {
        counters.save(&tx).await?;
    }
    if let Some(counters) = target.as_ref().and_then(|t| t.counters.as_ref()) {
        counters.save(&tx).await?;
    }
    tx.commit().await.map_err(backend)?;
    if let (Some(redrive), true) = (redrive, outcome.moved > 0) {
        store.notices.messages_available(&redrive.target);
    }
    Ok(outcome)
}

/// A standard queue's candidates: expired messages go (a bounded number per receive), messages whose
/// time has come are ready again, then the ready ones in sequence order — the first four statements
/// sent together.
async fn pick_standard<C: GenericClient>(
    client: &C,
    floors: &ReadyFloors,
    queue: Queue,
    request: &ReceiveRequest,
    max_receive_count: Option<i64>,
    tallies: &mut Tallies,
) -> Result<Picker, StoreError> {
    let expire_some = prepare(client, include_str!("queries/expire.sql")).await?;
    let promote = prepare(client, include_str!("queries/promote.sql")).await?;
    let tally = prepare(client, RECEIVED).await?;
    let ready = prepare(client, include_str!("queries/ready.sql")).await?;
    let mut asked = to_i64(request.max_messages as u64);
    let (start, again_from) = floors.start(queue.id);
    let expire_params: [&(dyn ToSql + Sync); 3] =
        [&queue.id, &request.expire_before, &EXPIRE_PER_RECEIVE];
    let since = floors.promote_since(queue.id, request.now);
    let promote_params: [&(dyn ToSql + Sync); 3] = [&queue.id, &since, &request.now];
    let tally_params: [&(dyn ToSql + Sync); 1] = [&queue.id];
    let ready_params: [&(dyn ToSql + Sync); 5] = [
        &queue.id,
        &request.now,
        &request.expire_before,
        &start,
        &asked,
    ];
    let (expired, promoted, tally, mut batch) = tokio::try_join!(
        biased;
        run(client, &expire_some, &expire_params),
        run(client, &promote, &promote_params),
        run(client, &tally, &tally_params),
        run(client, &ready, &ready_params),
    )?;
    let made_ready = promoted.iter().map(|row| row.get::<_, i64>(0)).min();
    let again_from = match made_ready {
        Some(lowest) => again_from.min(lowest - 1),
        None => again_from,
    };
    if again_from < start && ((batch.len() as i64) < asked || made_ready.is_some()) {
        batch = run(
            client,
            &ready,
            &[
                &queue.id,
                &request.now,
                &request.expire_before,
                &again_from,
                &asked,
            ],
        )
        .await?;
    }
    let removed: Vec<Removed> = expired
        .iter()
        .map(|row| Removed::from_row(row, 0))
        .collect();
    after_removal(client, queue, &removed, tallies).await?;
    let received = tally.first().map_or(0, |row| row.get(0));
    let mut picker = Picker::new(
        request,
        max_receive_count,
        in_flight(client, queue.id, request, received).await?,
    );
    loop {
        let exhausted = (batch.len() as i64) < asked;
        let mut after = i64::MIN;
        for row in &batch {
            let candidate = Candidate::from_row(row, 0);
            after = candidate.seq;
            if !picker.offer(candidate) {
                return Ok(floor_after(floors, queue, picker, made_ready));
            }
        }
        if exhausted || picker.done() {
            return Ok(floor_after(floors, queue, picker, made_ready));
        }
        // Some went to the dead-letter queue: the next ones in order take their place.
        asked = picker.room();
        batch = run(
            client,
            &ready,
            &[
                &queue.id,
                &request.now,
                &request.expire_before,
                &after,
                &asked,
            ],
        )
        .await?;
    }
}

fn floor_after(
    floors: &ReadyFloors,
    queue: Queue,
    picker: Picker,
    made_ready: Option<i64>,
) -> Picker {
    let taken = picker
        .handed
        .iter()
        .map(|c| c.seq)
        .chain(picker.dead.iter().copied())
        .max();
    floors.set(queue.id, taken, made_ready);
    picker
}

/// A FIFO queue's candidates, in the order the embedded engine serves them: the groups whose oldest
/// message is visible, by when that message became visible (its instant, then its stamp), each
/// giving its visible messages from the oldest on up to the first one that is not. The queue's row
/// is locked, so every expired message can go first.
async fn pick_fifo<C: GenericClient>(
    client: &C,
    queue: Queue,
    request: &ReceiveRequest,
    max_receive_count: Option<i64>,
    tallies: &mut Tallies,
) -> Result<Picker, StoreError> {
    expire(client, queue, request.expire_before, i64::MAX, tallies).await?;
    let received = received(client, queue.id).await?;
    let mut picker = Picker::new(
        request,
        max_receive_count,
        in_flight(client, queue.id, request, received).await?,
    );
    let heads = prepare(client, include_str!("queries/heads.sql")).await?;
    let members = prepare(client, include_str!("queries/group_members.sql")).await?;
    let mut position = (i64::MIN, i64::MIN);
    while !picker.done() {
        let room = picker.room();
        let ready = run(
            client,
            &heads,
            &[&queue.id, &request.now, &position.0, &position.1, &room],
        )
        .await?;
        if ready.is_empty() {
            break;
        }
        let groups: Vec<String> = ready.iter().map(|row| row.get(0)).collect();
        let from_start = vec![i64::MIN; groups.len()];
        let mut leading: Vec<Vec<Candidate>> = groups.iter().map(|_| Vec::new()).collect();
        for row in run(client, &members, &[&queue.id, &groups, &from_start, &room]).await? {
            let ord: i64 = row.get(0);
            if let Some(group) = usize::try_from(ord - 1)
                .ok()
                .and_then(|i| leading.get_mut(i))
            {
                group.push(Candidate::from_row(&row, 1));
            }
        }
        for ((head, group), mut chunk) in ready.iter().zip(&groups).zip(leading) {
            position = (head.get(1), head.get(2));
            let mut asked = room;
            loop {
                let complete = (chunk.len() as i64) < asked;
                let mut last = None;
                for candidate in chunk {
                    if candidate.visible_at > request.now {
                        break;
                    }
                    last = Some(candidate.seq);
                    if !picker.offer(candidate) {
                        return Ok(picker);
                    }
                }
                // The group's visible run goes on past what was read only when all of it was
                // visible and some went to the dead-letter queue.
                let Some(last) = last.filter(|_| !complete && !picker.done()) else {
                    break;
                };
                asked = picker.room();
                let (group, last) = (vec![group], vec![last]);
                chunk = run(client, &members, &[&queue.id, &group, &last, &asked])
                    .await?
                    .iter()
                    .map(|row| Candidate::from_row(row, 1))
                    .collect();
            }
        }
        if (ready.len() as i64) < room {
            break;
        }
    }
    Ok(picker)
}

/// Moves messages of `source` to the dead-letter queue, with their delivery history, as new messages
/// at its end.
async fn move_dead<C: GenericClient>(
    client: &C,
    source: Queue,
    dead: &[i64],
    target: &mut Target,
    redrive: &Redrive,
    now: i64,
    tallies: &mut Tallies,
) -> Result<(), StoreError> {
    let rows = query(
        client,
        include_str!("queries/take.sql"),
        &[&source.id, &dead],
    )
    .await?;
    let by_seq: HashMap<i64, &Row> = rows.iter().map(|row| (row.get(0), row)).collect();
    let mut entries = Vec::with_capacity(dead.len());
    let mut removed = Vec::with_capacity(dead.len());
    for seq in dead {
        let Some(row) = by_seq.get(seq) else {
            continue;
        };
        let content = content_from(row.get(6))?;
        let receive_count: i32 = row.get(1);
        let moved = redrive.moved(&content, now, u32::try_from(receive_count).unwrap_or(0));
        entries.push(Entry {
            visible_at: now,
            receive_count,
            first_receive_at: row.get(2),
            received_at: row.get(3),
            content: std::sync::Arc::new(moved),
        });
        removed.push(Removed {
            receive_count: row.get(1),
            group: row.get(4),
            head: row.get(5),
        });
    }
    append(
        client,
        target.queue.id,
        target.counters.as_mut(),
        &entries,
        now,
    )
    .await?;
    let received = entries.iter().filter(|e| e.receive_count > 0).count();
    tallies.add(target.queue.id, to_i64(received as u64));
    after_removal(client, source, &removed, tallies).await
}
