//! What a followed journal gained since the last look (`watch --follow`): a file from where
//! the last look stopped, or a run's folder in a state store (its batches in order), a piece at
//! a time; nothing at all while it has not changed.

/// The most read at once: a long journal is taken a piece at a time, so memory stays flat.
const PIECE: u64 = 4 << 20;

/// What was appended to `journal` since byte `from`, at most [`PIECE`] bytes, and whether that
/// reaches its end (`None`: it has not changed since the last look). A journal shorter than what
/// was read was replaced or cut.
pub(super) async fn appended(
    journal: &std::path::Path,
    from: u64,
    looked_at: &mut Option<u64>,
) -> Result<Option<(Vec<u8>, bool)>, (String, bool)> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let io = |e: std::io::Error| (e.to_string(), false);
    // A run's folder in a state store: its batches, in order, read as one journal.
    if tokio::fs::metadata(journal).await.map_err(io)?.is_dir() {
        return appended_batches(journal, from, looked_at).await;
    }
    let len = tokio::fs::metadata(journal).await.map_err(io)?.len();
    if len < from {
        let why = format!(
            "it is shorter ({len} bytes) than the {from} bytes already read: it was replaced or cut"
        );
        return Err((why, true));
    }
    if *looked_at == Some(len) {
        return Ok(None);
    }
    let mut file = tokio::fs::File::open(journal).await.map_err(io)?;
    file.seek(std::io::SeekFrom::Start(from))
        .await
        .map_err(io)?;
    let want = (len - from).min(PIECE);
    let mut bytes = Vec::with_capacity(want as usize);
    (&mut file)
        .take(want)
        .read_to_end(&mut bytes)
        .await
        .map_err(io)?;
    let at_end = from + bytes.len() as u64 >= len;
    // Looked at all of it only once the end was reached.
    *looked_at = at_end.then_some(len);
    Ok(Some((bytes, at_end)))
}

/// As [`appended`], for a run's folder in a state store: its batches (`journal/SEQ.jsonl`, each
/// written once) in order are the journal.
async fn appended_batches(
    run: &std::path::Path,
    from: u64,
    looked_at: &mut Option<u64>,
) -> Result<Option<(Vec<u8>, bool)>, (String, bool)> {
    let io = |e: std::io::Error| (e.to_string(), false);
    let mut batches = Vec::new();
    let mut dir = tokio::fs::read_dir(run.join("journal")).await.map_err(io)?;
    while let Some(e) = dir.next_entry().await.map_err(io)? {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".jsonl") && !name.starts_with('.') {
            batches.push((name, e.metadata().await.map_err(io)?.len()));
        }
    }
    batches.sort();
    let total: u64 = batches.iter().map(|(_, len)| len).sum();
    if total < from {
        let why = format!(
            "its batches hold {total} bytes, fewer than the {from} already read: one was removed"
        );
        return Err((why, true));
    }
    if *looked_at == Some(total) {
        return Ok(None);
    }
    let mut out = Vec::new();
    let mut start = 0u64;
    for (name, len) in batches {
        let end = start + len;
        if end > from && (out.len() as u64) < PIECE {
            let bytes = tokio::fs::read(run.join("journal").join(&name))
                .await
                .map_err(io)?;
            let skip = from.saturating_sub(start) as usize;
            out.extend_from_slice(bytes.get(skip..).unwrap_or_default());
        }
        start = end;
    }
    let at_end = from + out.len() as u64 >= total;
    *looked_at = at_end.then_some(total);
    Ok(Some((out, at_end)))
}

/// A run followed by its URL in a state store (S3): each of its batches is read once, in
/// order, and only the batches after the last one read are asked for.
pub struct StoreRun {
    store: std::sync::Arc<dyn crate::runtime::store::Store>,
    /// `runs/RUNBOOK/RUN_ID`.
    prefix: String,
    /// The last batch read.
    last: Option<String>,
    /// Bytes read but not yet taken, starting at journal offset `base`.
    base: u64,
    pending: Vec<u8>,
}

impl StoreRun {
    pub fn new(store: std::sync::Arc<dyn crate::runtime::store::Store>, prefix: &str) -> StoreRun {
        StoreRun {
            store,
            prefix: prefix.to_string(),
            last: None,
            base: 0,
            pending: Vec::new(),
        }
    }
}

/// As [`appended`], for a run in a state store: what its batches hold from byte `from`, at
/// most about [`PIECE`] bytes, and whether that is all there is for now.
pub(super) async fn appended_store(
    run: &mut StoreRun,
    from: u64,
) -> Result<Option<(Vec<u8>, bool)>, (String, bool)> {
    if from < run.base || from > run.base + run.pending.len() as u64 {
        return Err((
            format!("byte {from} of the run is not where its batches were read up to"),
            true,
        ));
    }
    run.pending.drain(..(from - run.base) as usize);
    run.base = from;
    let mut more = false;
    if (run.pending.len() as u64) < PIECE {
        let (store, journal, last) = (
            run.store.clone(),
            format!("{}/journal", run.prefix),
            run.last.clone(),
        );
        let got = tokio::task::spawn_blocking(move || {
            let keys = store.list_after(&journal, last.as_deref())?;
            let mut read = Vec::new();
            let mut size = 0u64;
            for key in keys.iter().filter(|k| k.ends_with(".jsonl")) {
                if size >= PIECE {
                    return Ok((read, true));
                }
                // A listed batch is never removed or changed; one gone is a tampered store.
                let body = store.get(key)?.map(|o| o.body).unwrap_or_default();
                size += body.len() as u64;
                read.push((key.clone(), body));
            }
            Ok::<_, crate::runtime::store::StoreError>((read, false))
        })
        .await
        .map_err(|e| (e.to_string(), false))?
        .map_err(|e| (e.to_string(), false))?;
        more = got.1;
        for (key, body) in got.0 {
            run.pending.extend(body);
            run.last = Some(key);
        }
    }
    if run.pending.is_empty() {
        return Ok(None);
    }
    let take = run.pending.len().min(PIECE as usize);
    let at_end = !more && take == run.pending.len();
    Ok(Some((run.pending[..take].to_vec(), at_end)))
}
