//! `palermo hits`: choosing which peers are answered, encoding the node's
//! persons for answering, listing hits and queries, and enqueuing a query
//! to a peer; bad input exits 2.

use crate::ledger::Node;

const PERSONS: &str = "id,given_name,surname,date_of_birth,passport_number,nationality,role\n\
    de-1,Olena,Kovalenko,1991-04-12,FA123456,UA,victim\n\
    de-2,Dmytro,Shevchenko,1985-09-30,EK998877,UA,suspect\n";

fn str(path: &std::path::Path) -> &str {
    path.to_str().unwrap()
}

/// Runs and expects exit 2 with `expect` in stderr.
fn bad(node: &Node, args: &[&str], expect: &str) {
    let out = node.run(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(stderr.contains(expect), "{args:?}: {stderr}");
}

#[test]
fn peers_index_list_and_query() {
    let node = Node::new();
    let persons = node.write("persons.csv", PERSONS);
    node.json(&["import", str(&persons)]);
    let secret = node.write("group.secret", "a sharing group secret of 32 bytes\n");

    // Nothing is answered by default.
    assert_eq!(
        node.json(&["hits", "peers"])["peers"],
        serde_json::json!([])
    );
    let text = node.run(&["hits", "peers"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("hit/no-hit is off"));

    let index = node.json(&["hits", "index", "--secret-file", str(&secret)]);
    assert_eq!(index["records"], 2);
    assert_eq!(index["n_bits"], 2048);
    let key_id = index["key_id"].as_str().unwrap().to_owned();

    let allowed = node.json(&["hits", "allow", "--peer", "nl-knp", "--max-queries", "5"]);
    assert_eq!(allowed["enabled"], true);
    assert_eq!(allowed["max_queries"], 5);
    assert_eq!(allowed["updated_by"], "officer-1");
    let peers = node.json(&["hits", "peers"]);
    assert_eq!(peers["peers"][0]["peer"], "nl-knp");
    assert_eq!(peers["encodings"][0]["key_id"], key_id.as_str());
    assert_eq!(peers["encodings"][0]["records"], 2);
    let denied = node.json(&["hits", "deny", "--peer", "nl-knp"]);
    assert_eq!(denied["enabled"], false);
    // Both settings are on the ledger.
    let ledger = node
        .json(&["ledger", "show", "--kind", "policy-decision"])
        .to_string();
    assert!(ledger.contains("hit-answering nl-knp"), "{ledger}");
    assert!(
        ledger.contains("enable") && ledger.contains("disable"),
        "{ledger}"
    );

    // No hits or queries yet, in JSON and text; `palermo hits` lists.
    assert_eq!(node.json(&["hits", "list"]), serde_json::json!([]));
    assert_eq!(
        node.json(&["hits", "list", "--direction", "sent"]),
        serde_json::json!([])
    );
    assert_eq!(node.json(&["hits"]), serde_json::json!([]));
    assert_eq!(node.json(&["hits", "queries"]), serde_json::json!([]));
    let out = node.run(&["hits"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("no hits"));

    // Encodings to ask about, and an enrolled node to ask from.
    let encoded = node.path("query.json");
    node.json(&[
        "pprl",
        "encode",
        str(&persons),
        "--id-column",
        "id",
        "--secret-file",
        str(&secret),
        "--record-level",
        "--out",
        str(&encoded),
    ]);
    // `pprl encode`'s default, field-level encodings, are not what the exchange matches.
    let field_level = node.path("field-level.json");
    node.json(&[
        "pprl",
        "encode",
        str(&persons),
        "--id-column",
        "id",
        "--secret-file",
        str(&secret),
        "--out",
        str(&field_level),
    ]);
    bad(
        &node,
        &["hits", "index", "--encodings", str(&field_level)],
        "--record-level",
    );
    let anchor = node.path("anchor");
    let me = node.path("me");
    node.json(&["federation", "init", "--dir", str(&anchor), "--name", "t"]);
    node.json(&[
        "node",
        "init",
        "--dir",
        str(&me),
        "--jurisdiction",
        "DE",
        "--agency",
        "BKA",
        "--endpoint",
        "https://127.0.0.1:9",
    ]);
    // Not enrolled yet: refused as bad input.
    let query = |extra: &[&str]| {
        let mut args = vec![
            "hits",
            "query",
            str(&encoded),
            "--node",
            str(&me),
            "--peer",
            "nl-knp",
        ];
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let args = query(&["--case", "DE-1", "--basis", "PALERMO_TIP:Art. 10"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    bad(&node, &args, "not enrolled");
    node.json(&[
        "node",
        "enroll",
        "--dir",
        str(&me),
        "--anchor",
        str(&anchor),
    ]);
    let mut full = vec!["--format", "json"];
    full.extend_from_slice(&args);
    let out = node.run(&full);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sent: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sent["encodings"], 2);
    assert_eq!(sent["basis"], "PALERMO_TIP:Art. 10");
    let queries = node.json(&["hits", "queries"]);
    assert_eq!(queries[0]["status"], "pending");
    assert_eq!(queries[0]["case_id"], "DE-1");
    assert_eq!(queries[0]["direction"], "sent");
    // The local record ids stay out of the report (and the message).
    assert!(!queries.to_string().contains("de-1"), "{queries}");
    let outbox = node.json(&["peer", "outbox"]);
    assert_eq!(outbox[0]["kind"], "hit-query");

    // Bad input: exit 2, nothing enqueued.
    let clkhash = node.write("clkhash.json", "{\"clks\": [\"AAAA\"]}");
    for (extra, expect) in [
        (&["--case", " ", "--basis", "UNTOC"][..], "reference a case"),
        (&["--case", "DE-1", "--basis", ":Art. 1"][..], "--basis"),
        (
            &["--case", "DE-1", "--basis", "UNTOC", "--date", "12/04/2026"][..],
            "--date",
        ),
    ] {
        let args = query(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        bad(&node, &args, expect);
    }
    bad(
        &node,
        &[
            "hits",
            "query",
            str(&clkhash),
            "--node",
            str(&me),
            "--peer",
            "nl-knp",
            "--case",
            "DE-1",
            "--basis",
            "UNTOC",
        ],
        "no group key id",
    );
    bad(
        &node,
        &[
            "hits",
            "query",
            str(&field_level),
            "--node",
            str(&me),
            "--peer",
            "nl-knp",
            "--case",
            "DE-1",
            "--basis",
            "UNTOC",
        ],
        "--record-level",
    );
    bad(
        &node,
        &[
            "hits",
            "query",
            str(&encoded),
            "--node",
            str(&me),
            "--peer",
            "de-bka",
            "--case",
            "DE-1",
            "--basis",
            "UNTOC",
        ],
        "this node",
    );
    bad(
        &node,
        &["hits", "allow", "--peer", "Not A Node"],
        "Not A Node",
    );
    bad(&node, &["hits", "index"], "--secret-file");
    let short = node.write("short.secret", "short");
    bad(
        &node,
        &["hits", "index", "--secret-file", str(&short)],
        "secret",
    );
    assert_eq!(node.json(&["peer", "outbox"]).as_array().unwrap().len(), 1);
}
