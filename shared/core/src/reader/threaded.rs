//! Reading on two threads: one decompresses the file and splits it into
//! records, the caller's thread extracts, matches and counts them.
//!
//! The reading thread copies records (and what its walk took from them,
//! see [`LogReader::with_paths`]) into batches of about 128 KiB and
//! hands them over through a channel that holds two; batches come back
//! through a second channel to be reused, so memory stays flat (a few
//! batches) whatever the file's size. Records and problems arrive in file
//! order, exactly as [`LogReader::visit`] hands them out on one thread. If
//! the visitor stops, the channel closes and the reading thread ends.

use std::io::Read;
use std::ops::ControlFlow;
use std::sync::mpsc;

use super::{LogReader, RawRecord, RecordVisitor};
use crate::error::{Error, ErrorKind, Location};
use crate::extract::Extracted;

/// A batch is handed over once it holds this much record text.
const BATCH_BYTES: usize = 128 * 1024;
/// Batches waiting in the channel.
const IN_FLIGHT: usize = 2;

#[derive(Default)]
struct Batch {
    /// The batch's records, one after another.
    text: String,
    /// What the walk took from them, one after another.
    extracted: Extracted,
    items: Vec<Item>,
}

impl Batch {
    fn clear(&mut self) {
        self.text.clear();
        self.extracted.clear();
        self.items.clear();
    }
}

enum Item {
    /// A record whose text, and extracted values if it was walked, end at
    /// these places in the batch (each starts where the previous record's
    /// ended).
    Record {
        index: usize,
        offset: u64,
        end: usize,
        extracted: Option<(usize, usize)>,
    },
    Problem(Error),
}

/// [`LogReader::visit`] with the reading on a second thread.
pub(super) fn visit<R: Read + Send + 'static>(reader: &mut LogReader<R>, visitor: &mut dyn RecordVisitor) -> bool {
    let (full_tx, full_rx) = mpsc::sync_channel::<Batch>(IN_FLIGHT);
    let (empty_tx, empty_rx) = mpsc::channel::<Batch>();
    let source = reader.source.clone();
    let paths = reader.paths.clone();
    std::thread::scope(|scope| {
        let reading = scope.spawn(move || read(reader, &full_tx, &empty_rx));
        let mut complete = true;
        'batches: for mut batch in full_rx.iter() {
            let (mut start, mut from) = (0, (0, 0));
            for item in batch.items.drain(..) {
                let problem = match item {
                    Item::Record { index, offset, end, extracted } => {
                        let extracted = match (extracted, &paths) {
                            (Some(to), Some(paths)) => {
                                let part = batch.extracted.slice(from.0..to.0, from.1..to.1);
                                from = to;
                                Some((part, &**paths))
                            }
                            _ => None,
                        };
                        let raw = RawRecord { index, offset, json: &batch.text[start..end], extracted };
                        start = end;
                        match visitor.record(raw) {
                            Ok(ControlFlow::Continue(())) => continue,
                            Ok(ControlFlow::Break(())) => break 'batches,
                            Err(e) => e,
                        }
                    }
                    Item::Problem(e) => e,
                };
                complete &= problem.is_record_level();
                visitor.problem(problem);
            }
            batch.clear();
            // The reading thread may be gone already; the batch is then dropped.
            let _ = empty_tx.send(batch);
        }
        // Closes the channel if the visitor stopped early, which ends the reading thread.
        drop(full_rx);
        if reading.join().is_err() {
            complete = false;
            let location = Location { source: Some(source), offset: None, record: None };
            visitor.problem(Error::at(ErrorKind::Io("the reading thread failed".into()), location));
        }
        complete
    })
}

/// The reading thread: records into batches until the end or until the
/// receiving side hangs up.
fn read<R: Read + Send + 'static>(
    reader: &mut LogReader<R>,
    full: &mpsc::SyncSender<Batch>,
    empty: &mpsc::Receiver<Batch>,
) {
    let mut batch = Batch::default();
    while let Some(next) = reader.next_record() {
        match next {
            Ok(raw) => {
                batch.text.push_str(raw.json);
                let extracted = raw.extracted.map(|(part, _)| batch.extracted.append(part));
                batch.items.push(Item::Record {
                    index: raw.index,
                    offset: raw.offset,
                    end: batch.text.len(),
                    extracted,
                });
            }
            Err(e) => batch.items.push(Item::Problem(e)),
        }
        if batch.text.len() >= BATCH_BYTES || batch.items.len() >= 4096 {
            let next = empty.try_recv().unwrap_or_default();
            if full.send(std::mem::replace(&mut batch, next)).is_err() {
                return;
            }
        }
    }
    if !batch.items.is_empty() {
        let _ = full.send(batch);
    }
}
