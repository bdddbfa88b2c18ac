//! `signins.parquet` (`--signin-log-format parquet`): the sign-in log as Apache Parquet,
//! the columns of `signins.csv` with types (see `docs/formats.md`, "signins.parquet").
//!
//! The runner hands the log over as typed rows ([`LogRow`]), in user order; a writer
//! thread gathers them into columns and encodes row groups of [`ROW_GROUP_ROWS`] rows, so
//! encoding overlaps the simulation and memory stays bounded (a row group's columns, and
//! at most `IN_FLIGHT` chunks of rows waiting). The rows' text values are the log's
//! `&'static str` names: a column keeps each distinct one once, found by its address. Row
//! groups are cut by row count, never by chunk or thread, and the file holds no time, host
//! or random value: the bytes depend only on the rows.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use bytes::Bytes;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::column::writer::{get_column_writer, get_typed_column_writer, ColumnCloseResult};
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DataType, Int32Type, Int64Type};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterPropertiesPtr};
use parquet::file::writer::{SerializedFileWriter, SerializedPageWriter, TrackedWrite};
use parquet::schema::parser::parse_message_type;
use parquet::schema::types::{ColumnDescPtr, ColumnPath};
use rayon::prelude::*;

use crate::engine::time::DAY;
use crate::output::signinlog::{user_principal_name, LogNames, LogRow, TEXT_COLUMNS};
use crate::output::stream::Writeback;

/// The schema of `signins.parquet`: `signins.csv`'s columns, in its order.
pub const SIGNIN_PARQUET_SCHEMA: &str = "message signins {
  required int64 createdDateTime (TIMESTAMP(MICROS,true));
  required binary userPrincipalName (STRING);
  required binary appDisplayName (STRING);
  required binary clientAppUsed (STRING);
  required boolean isInteractive;
  required binary deviceTrustType (STRING);
  required int32 status_errorCode;
  required binary conditionalAccessStatus (STRING);
  required binary sessionLifetimePolicy (STRING);
  required binary authenticationRequirement (STRING);
  optional boolean isCompliant;
  required binary authenticationMethod (STRING);
  required binary mfaAuthMethod (STRING);
  required binary networkType (STRING);
  required binary design (STRING);
  required int32 replicate;
  required binary persona (STRING);
  required binary actor (STRING);
  required binary outcome (STRING);
  required binary reason (STRING);
}";

/// Rows per row group: ~16 MB of buffered columns (ids of interned strings), and large
/// enough for readers to skip by statistics.
pub const ROW_GROUP_ROWS: usize = 1 << 18;

/// Chunks of rows (about 960 user-days each, `runner::chunk_users`) queued for the writer thread.
const IN_FLIGHT: usize = 4;

/// Columns of `signins.csv`.
const COLUMNS: usize = 20;
/// Where each of [`TEXT_COLUMNS`] is among the file's columns.
const TEXT_AT: [usize; TEXT_COLUMNS.len()] = [2, 3, 5, 7, 8, 9, 11, 12, 13, 17, 18, 19];

/// Writer settings: fixed, so the bytes depend only on the rows. One codec, zstd level 1:
/// the file exists to be small (45× smaller than the CSV, `docs/performance.md`, "Sign-in
/// log"), and level 1 is zstd's fastest; Snappy was not measured against it.
fn properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        // Min/max of every string value cost a fifth of the encoding; readers prune by
        // time, code and replicate, and by dictionaries for strings.
        .set_statistics_enabled(EnabledStatistics::None)
        .set_column_statistics_enabled(
            ColumnPath::from("createdDateTime"),
            EnabledStatistics::Chunk,
        )
        .set_column_statistics_enabled(
            ColumnPath::from("status_errorCode"),
            EnabledStatistics::Chunk,
        )
        .set_column_statistics_enabled(ColumnPath::from("replicate"), EnabledStatistics::Chunk)
        // Timestamps rarely repeat: a dictionary would be abandoned after its first MB.
        .set_column_dictionary_enabled(ColumnPath::from("createdDateTime"), false)
        .set_column_encoding(
            ColumnPath::from("createdDateTime"),
            Encoding::DELTA_BINARY_PACKED,
        )
        .build()
}

/// The open `signins.parquet`: takes rows, in order, until [`ParquetLog::finish`].
pub struct ParquetLog {
    tx: Option<SyncSender<Vec<LogRow>>>,
    thread: Option<JoinHandle<std::io::Result<File>>>,
}

impl ParquetLog {
    /// Creates `path` and starts its writer thread; `names` says what the rows' numbers
    /// stand for. A row group's columns are encoded on up to `threads` threads.
    pub fn create(path: &Path, names: LogNames, threads: usize) -> std::io::Result<ParquetLog> {
        let file = File::create(path)?;
        let (tx, rx) = sync_channel::<Vec<LogRow>>(IN_FLIGHT);
        let thread = std::thread::Builder::new()
            .name("signins.parquet".into())
            .spawn(move || -> std::io::Result<File> {
                let out = BufWriter::with_capacity(1 << 20, Writeback::new(file));
                let mut enc = Encoder::new(out, names, threads)?;
                for rows in rx {
                    enc.add_rows(&rows)?;
                }
                enc.finish()
            })?;
        Ok(ParquetLog {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Adds rows, after those already given.
    pub fn write(&mut self, rows: Vec<LogRow>) -> std::io::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let sent = match &self.tx {
            Some(tx) => tx.send(rows).is_ok(),
            None => false,
        };
        if sent {
            Ok(())
        } else {
            // The writer stopped on an error: report it.
            self.tx = None;
            Err(self.join().err().unwrap_or_else(|| {
                std::io::Error::other("the signins.parquet writer stopped early")
            }))
        }
    }

    /// Writes the footer and syncs the file to disk.
    pub fn finish(mut self) -> std::io::Result<()> {
        self.tx = None;
        self.join()?.sync_all()
    }

    fn join(&mut self) -> std::io::Result<File> {
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| std::io::Error::other("the signins.parquet writer panicked"))?,
            None => Err(std::io::Error::other("signins.parquet was already closed")),
        }
    }
}

impl Drop for ParquetLog {
    fn drop(&mut self) {
        // An abandoned run: stop the thread (its half-written file is in the staging
        // folder, which is removed).
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn pq_err(e: parquet::errors::ParquetError) -> std::io::Error {
    std::io::Error::other(format!("writing signins.parquet: {e}"))
}

/// A string column of the current row group: for each row, an index into its distinct
/// values.
#[derive(Default)]
struct StrColumn {
    ids: Vec<u32>,
    values: Vec<ByteArray>,
}

impl StrColumn {
    fn clear(&mut self) {
        self.ids.clear();
        self.values.clear();
    }
}

/// A column of the log's fixed names: a handful of `&'static str`, told apart by address
/// first (each name is one constant), by content when two constants spell the same.
#[derive(Default)]
struct NameColumn {
    col: StrColumn,
    seen: Vec<&'static str>,
    /// The previous row's id: consecutive rows mostly repeat a name.
    last: u32,
}

impl NameColumn {
    fn push(&mut self, v: &'static str) {
        let id = match self.seen.get(self.last as usize) {
            Some(s) if std::ptr::eq(*s, v) => self.last,
            _ => self.intern(v),
        };
        self.last = id;
        self.col.ids.push(id);
    }

    #[cold]
    fn intern(&mut self, v: &'static str) -> u32 {
        match self.seen.iter().position(|s| std::ptr::eq(*s, v)) {
            Some(i) => i as u32,
            None => match self.seen.iter().position(|s| *s == v) {
                Some(i) => i as u32,
                None => {
                    self.seen.push(v);
                    // A static value: the encoder's clone of it per row is a copy, with no
                    // reference count to touch (those were ~5% of a run's CPU with the log).
                    (self.col.values).push(ByteArray::from(Bytes::from_static(v.as_bytes())));
                    (self.seen.len() - 1) as u32
                }
            },
        }
    }

    fn clear(&mut self) {
        self.col.clear();
        self.seen.clear();
        self.last = 0;
    }
}

/// A column of names given by number (design, persona, user): each number's value is
/// made once per row group.
#[derive(Default)]
struct NumberedColumn {
    col: StrColumn,
    index: HashMap<u64, u32>,
    /// The previous row's number and id: consecutive rows mostly repeat it.
    last: Option<(u64, u32)>,
}

impl NumberedColumn {
    fn push(&mut self, n: u64, name: impl FnOnce(u64) -> Vec<u8>) {
        let id = match self.last {
            Some((last, id)) if last == n => id,
            _ => {
                let values = &mut self.col.values;
                let id = *self.index.entry(n).or_insert_with(|| {
                    values.push(ByteArray::from(name(n)));
                    (values.len() - 1) as u32
                });
                self.last = Some((n, id));
                id
            }
        };
        self.col.ids.push(id);
    }

    fn clear(&mut self) {
        self.col.clear();
        self.index.clear();
        self.last = None;
    }
}

/// One row group's rows, column by column.
#[derive(Default)]
struct Columns {
    created: Vec<i64>,
    upn: NumberedColumn,
    text: [NameColumn; TEXT_COLUMNS.len()],
    interactive: Vec<bool>,
    error_code: Vec<i32>,
    compliant: Vec<bool>,
    compliant_def: Vec<i16>,
    design: NumberedColumn,
    replicate: Vec<i32>,
    persona: NumberedColumn,
    rows: usize,
}

impl Columns {
    /// The string column at place `i` of the file.
    fn strings(&self, i: usize) -> Option<&StrColumn> {
        match i {
            1 => Some(&self.upn.col),
            14 => Some(&self.design.col),
            16 => Some(&self.persona.col),
            _ => TEXT_AT
                .iter()
                .position(|&at| at == i)
                .map(|k| &self.text[k].col),
        }
    }

    /// Encodes column `i` as a column chunk of its own, in memory: the chunks of a row
    /// group are independent, so they can be encoded in parallel and then appended in
    /// order, and the bytes do not depend on which thread encoded which.
    fn encode(
        &self,
        i: usize,
        descr: ColumnDescPtr,
        props: WriterPropertiesPtr,
    ) -> parquet::errors::Result<(Bytes, ColumnCloseResult)> {
        fn write<T: DataType>(
            w: parquet::column::writer::ColumnWriter<'_>,
            values: &[T::T],
            def: Option<&[i16]>,
        ) -> parquet::errors::Result<ColumnCloseResult> {
            let mut w = get_typed_column_writer::<T>(w);
            w.write_batch(values, def, None)?;
            w.close()
        }
        let mut buf = TrackedWrite::new(Vec::new());
        let close = {
            let w = get_column_writer(descr, props, Box::new(SerializedPageWriter::new(&mut buf)));
            match i {
                0 => write::<Int64Type>(w, &self.created, None)?,
                4 => write::<BoolType>(w, &self.interactive, None)?,
                6 => write::<Int32Type>(w, &self.error_code, None)?,
                10 => write::<BoolType>(w, &self.compliant, Some(&self.compliant_def))?,
                15 => write::<Int32Type>(w, &self.replicate, None)?,
                _ => {
                    let s = self.strings(i).ok_or_else(|| {
                        parquet::errors::ParquetError::General("column mismatch".into())
                    })?;
                    let mut w = get_typed_column_writer::<ByteArrayType>(w);
                    let mut batch: Vec<ByteArray> = Vec::with_capacity(4096);
                    for ids in s.ids.chunks(4096) {
                        batch.clear();
                        batch.extend(ids.iter().map(|id| s.values[*id as usize].clone()));
                        w.write_batch(&batch, None, None)?;
                    }
                    w.close()?
                }
            }
        };
        Ok((Bytes::from(buf.into_inner()?), close))
    }

    fn clear(&mut self) {
        self.created.clear();
        self.upn.clear();
        self.text.iter_mut().for_each(NameColumn::clear);
        self.interactive.clear();
        self.error_code.clear();
        self.compliant.clear();
        self.compliant_def.clear();
        self.design.clear();
        self.replicate.clear();
        self.persona.clear();
        self.rows = 0;
    }
}

/// Buffers one row group's columns and writes them.
struct Encoder {
    writer: SerializedFileWriter<BufWriter<Writeback>>,
    props: WriterPropertiesPtr,
    names: LogNames,
    cols: Columns,
    /// Encodes a row group's columns; its threads live as long as the file is written.
    pool: rayon::ThreadPool,
    /// Rows per row group ([`ROW_GROUP_ROWS`]; fewer in tests).
    group_rows: usize,
}

impl Encoder {
    fn new(out: BufWriter<Writeback>, names: LogNames, threads: usize) -> std::io::Result<Encoder> {
        let schema = Arc::new(parse_message_type(SIGNIN_PARQUET_SCHEMA).map_err(pq_err)?);
        let props = Arc::new(properties());
        let writer = SerializedFileWriter::new(out, schema, props.clone()).map_err(pq_err)?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.clamp(1, COLUMNS))
            .thread_name(|i| format!("signins.parquet-{i}"))
            .build()
            .map_err(std::io::Error::other)?;
        Ok(Encoder {
            writer,
            props,
            names,
            cols: Columns::default(),
            pool,
            group_rows: ROW_GROUP_ROWS,
        })
    }

    /// Adds rows, writing each row group as it fills.
    fn add_rows(&mut self, rows: &[LogRow]) -> std::io::Result<()> {
        for row in rows {
            self.add_row(row)?;
            if self.cols.rows >= self.group_rows {
                self.flush()?;
            }
        }
        Ok(())
    }

    fn add_row(&mut self, row: &LogRow) -> std::io::Result<()> {
        let out_of_range = |what: &str| {
            std::io::Error::other(format!("signins.parquet: {what} out of range in {row:?}"))
        };
        let micros = (self.names.start_day.checked_mul(DAY as i64))
            .and_then(|s| s.checked_add(i64::try_from(row.at.as_secs()).ok()?))
            .and_then(|s| s.checked_mul(1_000_000))
            .ok_or_else(|| out_of_range("createdDateTime"))?;
        let design =
            (self.names.designs.get(row.design as usize)).ok_or_else(|| out_of_range("design"))?;
        let persona = (self.names.personas.get(row.persona as usize))
            .ok_or_else(|| out_of_range("persona"))?;
        let error_code =
            i32::try_from(row.error_code()).map_err(|_| out_of_range("status_errorCode"))?;
        let replicate = i32::try_from(row.replicate).map_err(|_| out_of_range("replicate"))?;
        let c = &mut self.cols;
        c.created.push(micros);
        let domain = &self.names.domain;
        c.upn
            .push(row.user, |u| user_principal_name(u, domain).into_bytes());
        for (col, v) in c.text.iter_mut().zip(row.text()) {
            col.push(v);
        }
        c.interactive.push(row.interactive());
        c.error_code.push(error_code);
        match row.compliant() {
            Some(v) => {
                c.compliant.push(v);
                c.compliant_def.push(1);
            }
            None => c.compliant_def.push(0),
        }
        c.design
            .push(row.design.into(), |_| design.as_bytes().to_vec());
        c.replicate.push(replicate);
        c.persona
            .push(row.persona.into(), |_| persona.as_bytes().to_vec());
        c.rows += 1;
        Ok(())
    }

    /// Writes the buffered rows as one row group, its columns encoded in parallel.
    fn flush(&mut self) -> std::io::Result<()> {
        if self.cols.rows == 0 {
            return Ok(());
        }
        let descr: Vec<ColumnDescPtr> = (0..COLUMNS)
            .map(|i| self.writer.schema_descr().column(i))
            .collect();
        let (cols, props) = (&self.cols, &self.props);
        // Collected in column order, whichever thread encoded which.
        let chunks: Vec<parquet::errors::Result<(Bytes, ColumnCloseResult)>> =
            self.pool.install(|| {
                (0..COLUMNS)
                    .into_par_iter()
                    .map(|i| cols.encode(i, descr[i].clone(), props.clone()))
                    .collect()
            });
        let mut rg = self.writer.next_row_group().map_err(pq_err)?;
        for chunk in chunks {
            let (bytes, close) = chunk.map_err(pq_err)?;
            rg.append_column(&bytes, close).map_err(pq_err)?;
        }
        rg.close().map_err(pq_err)?;
        self.cols.clear();
        Ok(())
    }

    /// Writes the last row group and the footer; returns the file, not yet synced.
    fn finish(mut self) -> std::io::Result<File> {
        self.flush()?;
        let out = self.writer.into_inner().map_err(pq_err)?;
        Ok(out.into_inner().map_err(|e| e.into_error())?.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::time::SimTime;

    fn names() -> LogNames {
        LogNames {
            start_day: 20_458,
            domain: "x".into(),
            designs: vec!["sif=4h,\"x\"".into(), "plain".into()],
            personas: vec!["office".into(), "frontline".into()],
        }
    }

    fn row(at: u64, user: u64, design: u32, persona: u32, compliant: Option<bool>) -> LogRow {
        use crate::model::{Actor, Credential, MfaMethod, Outcome, Reason};
        use crate::output::signinlog::{CaStatus, SessionPolicy, UserSide};
        use crate::world::app::{App, Client, DeviceTrust};
        LogRow {
            at: SimTime::from_secs(at),
            user,
            design,
            replicate: design,
            persona,
            app: Some(App::Teams),
            client: Client::Browser,
            actor: if compliant.is_some() {
                Actor::User
            } else {
                Actor::Attacker
            },
            outcome: Outcome::Prompt,
            reason: Reason::MfaRequired,
            ca_status: CaStatus::Success,
            session_policy: SessionPolicy::None,
            mfa_required: true,
            user_side: compliant.map(|compliant| UserSide {
                device: DeviceTrust::EntraJoined,
                compliant,
                credential: Credential::Password,
                mfa_method: MfaMethod::Push,
                trusted_location: true,
            }),
        }
    }

    #[test]
    fn rows_round_trip_through_several_row_groups() {
        use parquet::file::reader::{FileReader, SerializedFileReader};
        use parquet::record::Field;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signins.parquet");
        let out = BufWriter::new(Writeback::new(File::create(&path).unwrap()));
        let mut enc = Encoder::new(out, names(), 2).unwrap();
        enc.group_rows = 2;
        let rows = [
            row(3 * 3600 + 56 * 60 + 16, 0, 0, 0, Some(true)),
            row(86_400, 0, 0, 0, None),
            row(27 * 86_400 + 86_399, 1, 1, 1, Some(false)),
        ];
        // In pieces, as chunks arrive.
        enc.add_rows(&rows[..1]).unwrap();
        enc.add_rows(&rows[1..]).unwrap();
        enc.finish().unwrap().sync_all().unwrap();
        let reader = SerializedFileReader::new(File::open(&path).unwrap()).unwrap();
        assert_eq!(reader.metadata().num_row_groups(), 2);
        let back: Vec<Vec<Field>> = reader
            .into_iter()
            .map(|r| {
                r.unwrap()
                    .get_column_iter()
                    .map(|(_, f)| f.clone())
                    .collect()
            })
            .collect();
        assert_eq!(back.len(), 3);
        let t0 = (20_458 * 86_400 + 3 * 3600 + 56 * 60 + 16) * 1_000_000i64;
        assert_eq!(back[0][0], Field::TimestampMicros(t0));
        assert_eq!(back[0][1], Field::Str("user0@x".into()));
        assert_eq!(back[0][2], Field::Str("Microsoft Teams".into()));
        assert_eq!(back[0][4], Field::Bool(true));
        assert_eq!(back[0][6], Field::Int(50074));
        assert_eq!(back[0][10], Field::Bool(true));
        assert_eq!(back[0][14], Field::Str("sif=4h,\"x\"".into()));
        assert_eq!(back[1][10], Field::Null);
        assert_eq!(back[1][5], Field::Str(String::new()));
        assert_eq!(back[1][17], Field::Str("attacker".into()));
        assert_eq!(
            back[2][0],
            Field::TimestampMicros((20_485 * 86_400 + 86_399) * 1_000_000)
        );
        assert_eq!(back[2][1], Field::Str("user1@x".into()));
        assert_eq!(back[2][15], Field::Int(1));
        assert_eq!(back[2][16], Field::Str("frontline".into()));
        assert_eq!(back[2][10], Field::Bool(false));
        assert_eq!(back[2][19], Field::Str("mfa_required".into()));
    }

    #[test]
    fn a_row_naming_an_unknown_design_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = File::create(dir.path().join("x")).unwrap();
        let mut enc = Encoder::new(BufWriter::new(Writeback::new(file)), names(), 1).unwrap();
        assert!(enc.add_rows(&[row(0, 0, 2, 0, None)]).is_err());
        assert!(enc.add_rows(&[row(0, 0, 0, 7, None)]).is_err());
        assert!(enc.add_rows(&[row(0, 0, 1, 1, None)]).is_ok());
    }

    #[test]
    fn equal_names_at_two_addresses_are_one_value() {
        let mut col = NameColumn::default();
        let a: &'static str = "Browser";
        let b: &'static str = Box::leak(String::from("Browser").into_boxed_str());
        col.push(a);
        col.push(b);
        col.push("Mobile Apps and Desktop clients");
        assert_eq!(col.col.ids, [0, 0, 1]);
        assert_eq!(col.col.values.len(), 2);
    }
}
