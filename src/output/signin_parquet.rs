//! `signins.parquet` (`--signin-log-format parquet`): the sign-in log as Apache Parquet,
//! the columns of `signins.csv` with types (see `docs/formats.md`, "signins.parquet").
//!
//! The runner hands the log over as the CSV rows it makes for `signins.csv`, in user order;
//! a writer thread parses them back into columns and encodes row groups of
//! [`ROW_GROUP_ROWS`] rows, so encoding overlaps the simulation and memory stays bounded
//! (a row group's columns, and at most `IN_FLIGHT` chunks of rows waiting). Row groups
//! are cut by row count, never by chunk or thread, and the file holds no time, host or
//! random value: the bytes depend only on the rows.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, Int32Type, Int64Type};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use parquet::schema::types::ColumnPath;

use crate::engine::calendar::{days_from_civil, parse_timestamp};
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

/// Chunks of CSV rows (32 users each) queued for the writer thread.
const IN_FLIGHT: usize = 4;

/// Columns of `signins.csv`.
const COLUMNS: usize = 20;
/// The CSV columns that are plain strings in the Parquet file.
const STRING_COLUMNS: [usize; 15] = [1, 2, 3, 5, 7, 8, 9, 11, 12, 13, 14, 16, 17, 18, 19];

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

/// The open `signins.parquet`: takes CSV rows, in order, until [`ParquetLog::finish`].
pub struct ParquetLog {
    tx: Option<SyncSender<Vec<u8>>>,
    thread: Option<JoinHandle<std::io::Result<File>>>,
}

impl ParquetLog {
    /// Creates `path` and starts its writer thread.
    pub fn create(path: &Path) -> std::io::Result<ParquetLog> {
        let file = File::create(path)?;
        let (tx, rx) = sync_channel::<Vec<u8>>(IN_FLIGHT);
        let thread = std::thread::Builder::new()
            .name("signins.parquet".into())
            .spawn(move || -> std::io::Result<File> {
                let mut enc =
                    Encoder::new(BufWriter::with_capacity(1 << 20, Writeback::new(file)))?;
                for rows in rx {
                    enc.add_csv(&rows)?;
                }
                enc.finish()
            })?;
        Ok(ParquetLog {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Adds whole CSV rows (no header), as `signins.csv` would get them.
    pub fn write(&mut self, csv_rows: &[u8]) -> std::io::Result<()> {
        if csv_rows.is_empty() {
            return Ok(());
        }
        let sent = match &self.tx {
            Some(tx) => tx.send(csv_rows.to_vec()).is_ok(),
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

fn bad_row(line: &[u8], why: &str) -> std::io::Error {
    std::io::Error::other(format!(
        "signins.parquet: {why} in the row `{}`",
        String::from_utf8_lossy(&line[..line.len().min(200)])
    ))
}

/// A string column of the current row group: ids into the distinct values seen in it.
#[derive(Default)]
struct StrColumn {
    ids: Vec<u32>,
    values: Vec<ByteArray>,
    index: HashMap<Vec<u8>, u32>,
    /// The previous row's value and id: consecutive rows mostly repeat it.
    last: Option<(Vec<u8>, u32)>,
}

impl StrColumn {
    fn push(&mut self, v: &[u8]) {
        if let Some((last, id)) = &self.last {
            if last.as_slice() == v {
                self.ids.push(*id);
                return;
            }
        }
        // Most columns hold a handful of values: a scan beats hashing them.
        let found = if self.values.len() <= 16 {
            self.values
                .iter()
                .position(|x| x.data() == v)
                .map(|i| i as u32)
        } else {
            self.index.get(v).copied()
        };
        let id = match found {
            Some(id) => id,
            None => {
                let id = self.values.len() as u32;
                self.values.push(ByteArray::from(v.to_vec()));
                self.index.insert(v.to_vec(), id);
                id
            }
        };
        match &mut self.last {
            Some((last, last_id)) => {
                last.clear();
                last.extend_from_slice(v);
                *last_id = id;
            }
            None => self.last = Some((v.to_vec(), id)),
        }
        self.ids.push(id);
    }

    fn clear(&mut self) {
        self.ids.clear();
        self.values.clear();
        self.index.clear();
        self.last = None;
    }
}

/// Buffers one row group's columns and writes them.
struct Encoder {
    writer: SerializedFileWriter<BufWriter<Writeback>>,
    created: Vec<i64>,
    strings: [StrColumn; STRING_COLUMNS.len()],
    interactive: Vec<bool>,
    error_code: Vec<i32>,
    compliant: Vec<bool>,
    compliant_def: Vec<i16>,
    replicate: Vec<i32>,
    rows: usize,
    /// Rows per row group ([`ROW_GROUP_ROWS`]; fewer in tests).
    group_rows: usize,
    /// The last date seen (`YYYY-MM-DD`) and its day number.
    date: ([u8; 10], i64),
}

impl Encoder {
    fn new(out: BufWriter<Writeback>) -> std::io::Result<Encoder> {
        let schema = Arc::new(parse_message_type(SIGNIN_PARQUET_SCHEMA).map_err(pq_err)?);
        let writer =
            SerializedFileWriter::new(out, schema, Arc::new(properties())).map_err(pq_err)?;
        Ok(Encoder {
            writer,
            created: Vec::new(),
            strings: Default::default(),
            interactive: Vec::new(),
            error_code: Vec::new(),
            compliant: Vec::new(),
            compliant_def: Vec::new(),
            replicate: Vec::new(),
            rows: 0,
            group_rows: ROW_GROUP_ROWS,
            date: ([0; 10], 0),
        })
    }

    /// Adds whole CSV rows.
    fn add_csv(&mut self, rows: &[u8]) -> std::io::Result<()> {
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', rows) {
            let line = &rows[start..end];
            start = end + 1;
            self.add_row(line)?;
            if self.rows >= self.group_rows {
                self.flush()?;
            }
        }
        if start != rows.len() {
            return Err(bad_row(&rows[start..], "no line end"));
        }
        Ok(())
    }

    fn add_row(&mut self, line: &[u8]) -> std::io::Result<()> {
        let f = split_csv(line).ok_or_else(|| bad_row(line, "not 20 fields"))?;
        let micros = self
            .timestamp(&f[0])
            .ok_or_else(|| bad_row(line, "no createdDateTime"))?;
        let int = |v: &[u8]| -> Option<i32> { std::str::from_utf8(v).ok()?.parse().ok() };
        let error_code = int(&f[6]).ok_or_else(|| bad_row(line, "no status_errorCode"))?;
        let replicate = int(&f[15]).ok_or_else(|| bad_row(line, "no replicate"))?;
        let compliant = match &*f[10] {
            b"true" => Some(true),
            b"false" => Some(false),
            b"" => None,
            _ => return Err(bad_row(line, "isCompliant is not true, false or empty")),
        };
        self.created.push(micros);
        for (col, i) in self.strings.iter_mut().zip(STRING_COLUMNS) {
            col.push(&f[i]);
        }
        self.interactive.push(&*f[4] == b"true");
        self.error_code.push(error_code);
        match compliant {
            Some(c) => {
                self.compliant.push(c);
                self.compliant_def.push(1);
            }
            None => self.compliant_def.push(0),
        }
        self.replicate.push(replicate);
        self.rows += 1;
        Ok(())
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` as microseconds since 1970-01-01 UTC.
    fn timestamp(&mut self, v: &[u8]) -> Option<i64> {
        let digits = |r: std::ops::Range<usize>| -> Option<i64> {
            v[r].iter().try_fold(0i64, |n, b| {
                b.is_ascii_digit().then(|| n * 10 + (b - b'0') as i64)
            })
        };
        let secs = if v.len() == 20 && v[10] == b'T' && v[19] == b'Z' {
            if v[..10] != self.date.0 {
                let (y, m, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
                self.date = (
                    v[..10].try_into().ok()?,
                    days_from_civil(y, m as u32, d as u32),
                );
            }
            self.date.1 * 86_400 + digits(11..13)? * 3600 + digits(14..16)? * 60 + digits(17..19)?
        } else {
            // A year past 9999 (never in a run).
            parse_timestamp(std::str::from_utf8(v).ok()?)?
        };
        secs.checked_mul(1_000_000)
    }

    /// Writes the buffered rows as one row group.
    fn flush(&mut self) -> std::io::Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let mut rg = self.writer.next_row_group().map_err(pq_err)?;
        let mut strings = self.strings.iter();
        let mut batch: Vec<ByteArray> = Vec::with_capacity(4096);
        for i in 0..COLUMNS {
            let mut col = rg.next_column().map_err(pq_err)?.ok_or_else(|| {
                std::io::Error::other("signins.parquet: schema has too few columns")
            })?;
            match i {
                0 => {
                    col.typed::<Int64Type>()
                        .write_batch(&self.created, None, None)
                        .map_err(pq_err)?;
                }
                4 => {
                    col.typed::<BoolType>()
                        .write_batch(&self.interactive, None, None)
                        .map_err(pq_err)?;
                }
                6 => {
                    col.typed::<Int32Type>()
                        .write_batch(&self.error_code, None, None)
                        .map_err(pq_err)?;
                }
                10 => {
                    col.typed::<BoolType>()
                        .write_batch(&self.compliant, Some(&self.compliant_def), None)
                        .map_err(pq_err)?;
                }
                15 => {
                    col.typed::<Int32Type>()
                        .write_batch(&self.replicate, None, None)
                        .map_err(pq_err)?;
                }
                _ => {
                    let s = strings
                        .next()
                        .ok_or_else(|| std::io::Error::other("signins.parquet: column mismatch"))?;
                    let w = col.typed::<ByteArrayType>();
                    for ids in s.ids.chunks(4096) {
                        batch.clear();
                        batch.extend(ids.iter().map(|id| s.values[*id as usize].clone()));
                        w.write_batch(&batch, None, None).map_err(pq_err)?;
                    }
                }
            }
            col.close().map_err(pq_err)?;
        }
        rg.close().map_err(pq_err)?;
        self.created.clear();
        self.strings.iter_mut().for_each(StrColumn::clear);
        self.interactive.clear();
        self.error_code.clear();
        self.compliant.clear();
        self.compliant_def.clear();
        self.replicate.clear();
        self.rows = 0;
        Ok(())
    }

    /// Writes the last row group and the footer; returns the file, not yet synced.
    fn finish(mut self) -> std::io::Result<File> {
        self.flush()?;
        let out = self.writer.into_inner().map_err(pq_err)?;
        Ok(out.into_inner().map_err(|e| e.into_error())?.into_inner())
    }
}

/// The 20 fields of a `signins.csv` row, unquoted (`"a,""b"""` is `a,"b"`).
fn split_csv(line: &[u8]) -> Option<[Cow<'_, [u8]>; COLUMNS]> {
    let mut fields: [Cow<'_, [u8]>; COLUMNS] = Default::default();
    if memchr::memchr(b'"', line).is_none() {
        // No quoted field (the usual row): split at every comma.
        let mut start = 0;
        let mut n = 0;
        for end in memchr::memchr_iter(b',', line).chain(std::iter::once(line.len())) {
            if n == COLUMNS {
                return None;
            }
            fields[n] = Cow::Borrowed(&line[start..end]);
            start = end + 1;
            n += 1;
        }
        return (n == COLUMNS).then_some(fields);
    }
    let mut n = 0;
    let mut i = 0;
    loop {
        if n == COLUMNS {
            return None;
        }
        if line.get(i) == Some(&b'"') {
            // Quoted: up to the closing quote; `""` is a quote.
            let mut v = Vec::new();
            i += 1;
            loop {
                match line.get(i)? {
                    b'"' if line.get(i + 1) == Some(&b'"') => {
                        v.push(b'"');
                        i += 2;
                    }
                    b'"' => {
                        i += 1;
                        break;
                    }
                    b => {
                        v.push(*b);
                        i += 1;
                    }
                }
            }
            fields[n] = Cow::Owned(v);
        } else {
            let end = line[i..]
                .iter()
                .position(|b| *b == b',')
                .map_or(line.len(), |p| i + p);
            fields[n] = Cow::Borrowed(&line[i..end]);
            i = end;
        }
        n += 1;
        match line.get(i) {
            None => break,
            Some(b',') => i += 1,
            Some(_) => return None,
        }
    }
    (n == COLUMNS).then_some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_split_into_unquoted_fields() {
        let line = b"2026-01-05T03:56:16Z,u@x,App,c,false,,0,,,s,,,,,\"sif=4h,\"\"x\"\"\",3,\"a,b\",attacker,silent,r";
        let f = split_csv(line).unwrap();
        assert_eq!(&*f[0], b"2026-01-05T03:56:16Z");
        assert_eq!(&*f[5], b"");
        assert_eq!(&*f[14], b"sif=4h,\"x\"");
        assert_eq!(&*f[15], b"3");
        assert_eq!(&*f[16], b"a,b");
        assert_eq!(&*f[19], b"r");
        assert!(split_csv(b"a,b,c").is_none());
        assert!(split_csv(&[line.as_slice(), b",extra"].concat()).is_none());
    }

    #[test]
    fn rows_round_trip_through_several_row_groups() {
        use parquet::file::reader::{FileReader, SerializedFileReader};
        use parquet::record::Field;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signins.parquet");
        let rows = "2026-01-05T03:56:16Z,user0@x,Microsoft Teams,Browser,true,Azure AD joined,50074,success,,multiFactorAuthentication,true,Password,Mobile app notification,trustedNamedLocation,\"sif=4h,\"\"x\"\"\",0,office,user,prompt,mfa_required\n\
2026-01-06T00:00:00Z,user0@x,Microsoft Teams,Browser,false,,0,,,singleFactorAuthentication,,,,,\"sif=4h,\"\"x\"\"\",0,office,attacker,silent,within_tolerance\n\
2026-02-01T23:59:59Z,user1@x,Windows Sign In,Mobile Apps and Desktop clients,false,Azure AD registered,0,notApplied,,singleFactorAuthentication,false,Passkey (device-bound),Passkey (device-bound),,plain,1,frontline,user,silent,prt_renewed\n";
        let mut enc =
            Encoder::new(BufWriter::new(Writeback::new(File::create(&path).unwrap()))).unwrap();
        enc.group_rows = 2;
        // In pieces, as chunks arrive.
        let (a, b) = rows.split_at(rows.find('\n').unwrap() + 1);
        enc.add_csv(a.as_bytes()).unwrap();
        enc.add_csv(b.as_bytes()).unwrap();
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
        assert_eq!(back[0][4], Field::Bool(true));
        assert_eq!(back[0][6], Field::Int(50074));
        assert_eq!(back[0][10], Field::Bool(true));
        assert_eq!(back[0][14], Field::Str("sif=4h,\"x\"".into()));
        assert_eq!(back[1][10], Field::Null);
        assert_eq!(back[1][5], Field::Str(String::new()));
        assert_eq!(
            back[2][0],
            Field::TimestampMicros((20_485 * 86_400 + 86_399) * 1_000_000)
        );
        assert_eq!(back[2][15], Field::Int(1));
        assert_eq!(back[2][10], Field::Bool(false));
        assert_eq!(back[2][19], Field::Str("prt_renewed".into()));
    }

    #[test]
    fn a_row_that_is_not_a_log_row_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = File::create(dir.path().join("x")).unwrap();
        let mut enc = Encoder::new(BufWriter::new(Writeback::new(file))).unwrap();
        assert!(enc.add_csv(b"a,b,c\n").is_err());
        assert!(enc.add_csv(b"no line end").is_err());
    }
}
