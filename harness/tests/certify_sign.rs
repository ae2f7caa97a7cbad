//! ENV-SIGN diagnoses through the real mock beyond one mistake at a time: two mistakes at once (parameters unsorted
//! and a timestamps 1 ms off), and a check signed with an `ai` parameter it does not carry.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use nppa_harness::certify::judge;
use nppa_harness::certify::rules::Profile;
use nppa_protocol::messages::CheckRequest;
use nppa_protocol::request::{self, SignedRequest, Target};
use nppa_protocol::sign;

fn set_sign(request: &mut SignedRequest, sign: String) {
    for (name, value) in request.headers.iter_mut() {
        if *name == "sign" {
            *value = sign.clone();
        }
    }
}

#[tokio::test]
async fn env_sign_names_two_mistakes_at_once_and_a_signed_ai_the_request_does_not_carry() {
    let mock = start().await;
    mock.freeze().await;
    let client = mock.client();
    let key = nppa_harness::DEFAULT_SECRET_KEY;
    let (a, b) = (nppa_harness::DEFAULT_APP_ID, nppa_harness::DEFAULT_BIZ_ID);
    let now = mock.now_ms().await;
    let hash = |text: String| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(text.as_bytes()));

    // Unsorted (ai after the system parameters) and signed with timestamps 1 ms before the one sent.
    let mut both = request::query(&credentials(), &Target::Production, "two-mistakes", now);
    set_sign(&mut both, hash(format!("{key}appId{a}bizId{b}timestamps{}aitwo-mistakes", now - 1)));
    assert_eq!(code(&client.send(both).await.unwrap()), 1011);

    // A check signed as if its ai were a query parameter.
    let body = CheckRequest { ai: "signed-ai".into(), name: PRESET_OK.1.into(), id_num: PRESET_OK.2.into() };
    let mut with_ai = request::check(&credentials(), &Target::Production, &body, now, [5; 12]);
    let params = [("appId", a), ("bizId", b), ("timestamps", &now.to_string()), ("ai", "signed-ai")];
    let signed = sign::sign(key, &params, &with_ai.body);
    set_sign(&mut with_ai, signed);
    assert_eq!(code(&client.send(with_ai).await.unwrap()), 1011);

    let report = judge(&entries(&mock), mock.server.service().config(), Profile::All, vec![], vec![Some(0)]);
    let rule = report.rules.iter().find(|r| r.id == "ENV-SIGN").unwrap();
    let text: String = rule.findings.iter().map(|f| f.message.clone() + "\n").collect();
    assert!(
        text.contains("two mistakes: parameters not sorted") && text.contains("1 ms before the value sent"),
        "{text}"
    );
    assert!(text.contains("an ai parameter the request does not carry was signed"), "{text}");
    assert!(!text.contains("matches none of the known mistakes"), "{text}");
}

#[tokio::test]
async fn sign_refusals_that_rest_on_our_reading_of_r_sig_1_say_so_and_others_do_not() {
    use nppa_harness::certify::choices;
    let mock = start().await;
    mock.freeze().await;
    let client = mock.client();
    let now = mock.now_ms().await;

    // A check POSTed with an empty `ai=` its URL builder left, signed without it: the mock signs every query
    // parameter, a POST's too (our reading of R-SIG-1).
    let body = CheckRequest { ai: "empty-ai-param".into(), name: PRESET_OK.1.into(), id_num: PRESET_OK.2.into() };
    let mut post = request::check(&credentials(), &Target::Production, &body, now, [6; 12]);
    post.path_and_query.push_str("?ai=");
    assert_eq!(code(&client.send(post).await.unwrap()), 1011);

    // A query carrying a body, signed without it: the mock verifies a GET over the body it carries.
    let mut get = request::query(&credentials(), &Target::Production, "get-with-body", now);
    get.body = b"{}".to_vec();
    assert_eq!(code(&client.send(get).await.unwrap()), 1011);

    // A plain mistake rests on no choice: an upper-case sign.
    let mut upper = request::query(&credentials(), &Target::Production, "upper-case", now);
    let sign = upper.headers.iter().find(|(n, _)| *n == "sign").unwrap().1.to_uppercase();
    set_sign(&mut upper, sign);
    assert_eq!(code(&client.send(upper).await.unwrap()), 1011);

    let report = judge(&entries(&mock), mock.server.service().config(), Profile::All, vec![], vec![Some(0)]);
    let rule = report.rules.iter().find(|r| r.id == "ENV-SIGN").unwrap();
    assert_eq!(rule.findings.len(), 3, "{rule:#?}");
    let [post, get, upper] = &rule.findings[..] else { unreachable!() };
    assert!(post.message.contains("(ai) were left out of the sign string"), "{post:#?}");
    assert_eq!(post.choice, Some(choices::POST_QUERY_SIGNED));
    assert!(get.message.contains("the body this GET carries was left out"), "{get:#?}");
    assert_eq!(get.choice, Some(choices::GET_BODY_SIGNED));
    assert!(upper.message.contains("upper-case"), "{upper:#?}");
    assert_eq!(upper.choice, None);
    // The reports name the choice beside the finding.
    let markdown = nppa_harness::certify::report::markdown(&report);
    assert!(markdown.contains("our reading of R-SIG-1 (a SPEC choice): the query parameters of a POST"), "{markdown}");
}
