//! `run --signin-log-format parquet`: `signins.parquet` holds the rows of `signins.csv`,
//! typed, and its bytes do not depend on the thread count.

mod common;

use std::path::Path;

use common::*;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;

fn run_into(out: &Path, extra: &[&str]) {
    let mut args = vec![
        "run",
        "tests/data/tiny.toml",
        "--users",
        "40",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = run(&args);
    assert!(o.status.success(), "run failed: {}", stderr(&o));
}

/// A Parquet value as `signins.csv` writes it.
fn as_csv(f: &Field) -> String {
    match f {
        Field::Null => String::new(),
        Field::Bool(b) => b.to_string(),
        Field::Int(i) => i.to_string(),
        Field::Str(s) => {
            if s.contains([',', '"']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.clone()
            }
        }
        Field::TimestampMicros(us) => {
            assert_eq!(us % 1_000_000, 0, "whole seconds");
            let secs = us / 1_000_000;
            let (y, m, d) = sessionsim::engine::calendar::civil_from_days(secs.div_euclid(86_400));
            let s = secs.rem_euclid(86_400);
            format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
                s / 3600,
                s % 3600 / 60,
                s % 60
            )
        }
        other => panic!("unexpected Parquet value {other:?}"),
    }
}

/// The header and rows of a `signins.parquet` as CSV lines.
fn parquet_as_csv(path: &Path) -> (Vec<String>, Vec<String>) {
    let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let schema = reader.metadata().file_metadata().schema_descr();
    let header = (0..schema.num_columns())
        .map(|i| schema.column(i).name().to_string())
        .collect();
    let rows = reader
        .into_iter()
        .map(|row| {
            row.unwrap()
                .get_column_iter()
                .map(|(_, f)| as_csv(f))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    (header, rows)
}

#[test]
fn parquet_log_holds_the_csv_rows_with_types() {
    let tmp = tempfile::tempdir().unwrap();
    let csv_dir = tmp.path().join("csv");
    let pq_dir = tmp.path().join("pq");
    run_into(&csv_dir, &["--signin-log"]);
    run_into(
        &pq_dir,
        &["--signin-log-format", "parquet", "--threads", "2"],
    );
    assert!(
        !pq_dir.join("signins.csv").exists(),
        "one log, in the asked format"
    );
    let csv = std::fs::read_to_string(csv_dir.join("signins.csv")).unwrap();
    let mut lines = csv.lines();
    let csv_header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let csv_rows: Vec<&str> = lines.collect();

    let path = pq_dir.join("signins.parquet");
    let (header, rows) = parquet_as_csv(&path);
    assert_eq!(header, csv_header);
    assert!(
        csv_rows.len() > 1000,
        "a log worth comparing: {}",
        csv_rows.len()
    );
    assert_eq!(rows.len(), csv_rows.len());
    for (i, (p, c)) in rows.iter().zip(&csv_rows).enumerate() {
        assert_eq!(p, c, "row {i}");
    }

    // Typed columns: a timestamp, booleans, integers; isCompliant is empty (null) only
    // on attacker rows.
    let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
    let schema = reader.metadata().file_metadata().schema_descr();
    let physical = |name: &str| {
        let i = (0..schema.num_columns())
            .find(|i| schema.column(*i).name() == name)
            .unwrap();
        schema.column(i).physical_type()
    };
    use parquet::basic::Type;
    assert_eq!(physical("createdDateTime"), Type::INT64);
    assert_eq!(physical("isInteractive"), Type::BOOLEAN);
    assert_eq!(physical("isCompliant"), Type::BOOLEAN);
    assert_eq!(physical("status_errorCode"), Type::INT32);
    assert_eq!(physical("userPrincipalName"), Type::BYTE_ARRAY);
}

#[test]
fn parquet_bytes_do_not_depend_on_the_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let one = tmp.path().join("t1");
    let two = tmp.path().join("t2");
    run_into(&one, &["--signin-log-format", "parquet", "--threads", "1"]);
    run_into(&two, &["--signin-log-format", "parquet", "--threads", "2"]);
    let a = std::fs::read(one.join("signins.parquet")).unwrap();
    let b = std::fs::read(two.join("signins.parquet")).unwrap();
    assert!(a.starts_with(b"PAR1") && a.ends_with(b"PAR1"));
    assert!(a == b, "signins.parquet differs between 1 and 2 threads");
}

#[test]
fn an_unknown_log_format_is_refused_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("x");
    let o = run(&[
        "run",
        "tests/data/tiny.toml",
        "--users",
        "5",
        "--quiet",
        "--signin-log-format",
        "xlsx",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("--signin-log-format")
            && err.contains("xlsx")
            && err.contains("csv or parquet"),
        "{err}"
    );
    assert!(!out.exists(), "nothing written");
}
