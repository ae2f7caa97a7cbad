//! The rules added from the hostile review, each both ways through the real mock: the mutant it must catch, and the
//! correct variants it must leave clean (ENV-CONTENT-TYPE, BEH-RECORD, FLT-RESENDS).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use nppa_harness::certify::choices;
use nppa_harness::certify::judge;
use nppa_harness::certify::model::{RuleResult, Verdict};
use nppa_harness::certify::rules::Profile;
use nppa_mockserver::faults::{FaultAction, FaultRequest, FaultRule};
use nppa_protocol::messages::{BehaviourRecord, CheckRequest};
use nppa_protocol::request::{self, SignedRequest, Target};
use nppa_protocol::Interface;

fn rule(mock: &Mock, profile: Profile, id: &str) -> RuleResult {
    let report = judge(&entries(mock), mock.server.service().config(), profile, vec![], vec![Some(0)]);
    report.rules.into_iter().find(|r| r.id == id).unwrap_or_else(|| panic!("no rule {id}"))
}

fn labelled(mut signed: SignedRequest, content_type: Option<&str>) -> SignedRequest {
    signed.headers.retain(|(name, _)| !name.eq_ignore_ascii_case("content-type"));
    if let Some(value) = content_type {
        signed.headers.push(("Content-Type", value.to_owned()));
    }
    signed
}

#[tokio::test]
async fn env_content_type_flags_a_post_without_json_and_leaves_every_spelling_of_json_clean() {
    // V2.1, request headers: Content-Type "Y", "默认值 application/json; charset=utf-8".
    let mock = start().await;
    let client = mock.client();
    let check = |ai: &str| CheckRequest { ai: ai.into(), name: PRESET_OK.1.into(), id_num: PRESET_OK.2.into() };
    for (n, value) in ["application/json; charset=utf-8", "application/json", "Application/JSON;charset=UTF-8"]
        .into_iter()
        .enumerate()
    {
        let signed = request::check(
            client.credentials(),
            &Target::Production,
            &check(&format!("json-{n}")),
            mock.now_ms().await,
            rand::random(),
        );
        assert_eq!(code(&client.send(labelled(signed, Some(value))).await.unwrap()), 0);
    }
    assert_eq!(rule(&mock, Profile::Official, "ENV-CONTENT-TYPE").verdict, Verdict::Passed);

    for (ai, value) in
        [("no-type", None), ("form", Some("application/x-www-form-urlencoded")), ("text", Some("text/plain"))]
    {
        let signed =
            request::check(client.credentials(), &Target::Production, &check(ai), mock.now_ms().await, rand::random());
        assert_eq!(
            code(&client.send(labelled(signed, value)).await.unwrap()),
            0,
            "the mock reads it as JSON (a choice)"
        );
    }
    let judged = rule(&mock, Profile::Official, "ENV-CONTENT-TYPE");
    assert_eq!(judged.verdict, Verdict::Failed);
    let [missing, other] = &judged.findings[..] else { panic!("two causes: {judged:#?}") };
    assert!(missing.message.contains("no Content-Type header") && missing.count == 1, "{missing:#?}");
    assert!(other.message.contains("x-www-form-urlencoded") && other.count == 2, "{other:#?}");
    assert_eq!(missing.choice, Some(choices::CONTENT_TYPE_READ_AS_JSON));
}

#[tokio::test]
async fn beh_record_flags_records_built_wrong_and_an_empty_report_and_leaves_well_built_ones_clean() {
    let mock = start().await;
    let client = mock.client();
    let now = mock.now_ms().await;
    // Well built: a guest with its di, a verified user with the preset pi, logins and logouts.
    let pi = "1fffbjzos82bs9cnyj1dna7d6d29zg4esnh99u";
    let verified_user = BehaviourRecord { ct: 0, di: None, pi: Some(pi.into()), ..guest(2, "well-built-2", 1, now) };
    assert_eq!(code(&client.loginout(vec![guest(1, "well-built-1", 1, now), verified_user]).await.unwrap()), 0);
    assert_eq!(code(&client.loginout(vec![guest(1, "well-built-1", 0, now)]).await.unwrap()), 0);
    assert_eq!(rule(&mock, Profile::Behaviour, "BEH-RECORD").verdict, Verdict::Passed);

    // Built wrong: R-BEH-2's per-record refusals, and a report with no record (R-BEH-1, 3002).
    let base = |no, si: &str| guest(no, si, 1, now);
    let wrong = vec![
        BehaviourRecord { ct: 1, ..base(1, "ct-one") },
        BehaviourRecord { bt: 2, ..base(2, "bt-two") },
        BehaviourRecord { ct: 0, di: None, pi: None, ..base(3, "no-pi") },
        BehaviourRecord { di: None, ..base(4, "no-di") },
        BehaviourRecord { ct: 0, di: None, pi: Some("not-a-pi".into()), ..base(5, "bad-pi") },
    ];
    assert_eq!(code(&client.loginout(wrong).await.unwrap()), 3001);
    assert_eq!(code(&client.loginout(vec![]).await.unwrap()), 3002);
    let judged = rule(&mock, Profile::Behaviour, "BEH-RECORD");
    assert_eq!(judged.verdict, Verdict::Failed);
    let codes: Vec<&str> = judged
        .findings
        .iter()
        .map(|f| ["3002", "3006", "3007", "3008", "3009", "3010"].into_iter().find(|c| f.message.contains(c)).unwrap())
        .collect();
    assert_eq!(codes, ["3006", "3007", "3008", "3009", "3010", "3002"], "{judged:#?}");
}

fn once(action: FaultAction) -> FaultRule {
    FaultRule {
        interface: Some(Interface::Loginout),
        test_system: Some(false),
        count: Some(1),
        action: Some(action),
        ..FaultRule::default()
    }
}

#[tokio::test]
async fn flt_resends_flags_records_lost_after_an_unreadable_answer_and_leaves_a_client_that_re_sends_clean() {
    let ok_body = r#"{"errcode":0,"errmsg":"OK","data":""}"#.to_owned();
    let faults =
        [FaultAction::HttpStatus { status: 503, body: Some(ok_body) }, FaultAction::Reset, FaultAction::Truncate];
    for fault in faults {
        for re_sends in [true, false] {
            let mock = start().await;
            mock.freeze().await;
            mock.server.service().faults().add(FaultRequest::One(once(fault.clone()))).unwrap();
            let client = mock.client();
            let now = mock.now_ms().await;
            let record = guest(1, "must-arrive", 1, now);
            let _ = client.loginout(vec![record.clone()]).await;
            mock.advance(200).await;
            if re_sends {
                // Re-signed and re-sealed, the same record (R-BEH-4; NPPA forgives the repeat).
                assert_eq!(code(&client.loginout(vec![record]).await.unwrap()), 0);
            } else {
                client.check("goes-on", PRESET_OK.1, PRESET_OK.2).await.unwrap();
            }
            let judged = rule(&mock, Profile::Faults, "FLT-RESENDS");
            let expected = if re_sends { Verdict::Passed } else { Verdict::Failed };
            assert_eq!(judged.verdict, expected, "{fault:?}, re-sends {re_sends}: {judged:#?}");
            if !re_sends {
                assert!(judged.findings[0].message.contains("never sent again"), "{judged:#?}");
            }
        }
    }
}

#[tokio::test]
async fn err_busy_flags_the_refused_call_sent_again_at_once_and_forgives_another_call_in_flight() {
    // R-RL-2. Found by following the README: a client re-sending the 1006'd report 1 ms and 200 ms later passed,
    // since everything within --busy-tolerance (1 s) was taken for requests already in flight.
    for resends in [true, false] {
        let mock = start().await;
        mock.freeze().await;
        let busy = FaultRule {
            action: Some(FaultAction::Status { errcode: nppa_protocol::StatusCode::Busy }),
            ..once(FaultAction::Reset)
        };
        mock.server.service().faults().add(FaultRequest::One(busy)).unwrap();
        let client = mock.client();
        let now = mock.now_ms().await;
        let refused = vec![guest(1, "refused", 1, now)];
        assert_eq!(code(&client.loginout(refused.clone()).await.unwrap()), 1006);
        mock.advance(1).await;
        if resends {
            client.loginout(refused).await.unwrap();
        } else {
            // Another report the game's second worker had already sent.
            client.loginout(vec![guest(1, "in-flight", 1, now)]).await.unwrap();
        }
        let busy = rule(&mock, Profile::Faults, "ERR-BUSY");
        let expected = if resends { Verdict::Failed } else { Verdict::Passed };
        assert_eq!(busy.verdict, expected, "re-sends {resends}: {busy:#?}");
    }
}
