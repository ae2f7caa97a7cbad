//! The official test system (接口测试, SPEC §8): test paths with test codes, separate credentials and
//! whitelist, the preset data, the pass condition of each of the 8 cases, per-enterprise progress, and the
//! unlocking of production.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use nppa_protocol::messages::{ct, AuthResult, AuthStatus, BehaviourRecord, CheckRequest};
use nppa_protocol::{Interface, SecretKey};

use crate::admin_api::{SecretKeys, TestAccountState, TestCaseState, TestSystemState};
use crate::config::Config;
use crate::error::StartError;
use crate::identity::Presets;
use crate::keys::KeyRing;
use crate::tenants::Enterprise;

/// Why a test code does not stand for a case of this interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeError {
    /// 4002: unknown, or another enterprise's.
    Unknown,
    /// 4003: the code of this case, of another interface.
    OtherInterface { case: usize },
}

pub use crate::test_cases::{Case, CASES};

/// An enterprise's test-system account.
#[derive(Debug)]
pub struct TestAccount {
    /// The test credentials, as an enterprise (its key and the test whitelist).
    pub enterprise: Enterprise,
    /// Index of the production enterprise it belongs to.
    pub production: usize,
    pub production_app_id: String,
    pub biz_id: String,
    pub codes: Vec<String>,
    passed: [AtomicBool; 8],
    /// The `sign` of the request that first passed each case: the journal finds its exchange by it.
    passed_by: [Mutex<Option<String>>; 8],
}

impl TestAccount {
    /// True when all 8 cases have passed.
    pub fn all_passed(&self) -> bool {
        self.passed.iter().all(|p| p.load(Ordering::Acquire))
    }
}

/// The test system of this mock.
#[derive(Debug)]
pub struct TestSystem {
    accounts: Vec<TestAccount>,
    by_app_id: HashMap<String, usize>,
    by_code: HashMap<String, (usize, usize)>,
    /// Production enterprises that passed before this run (`test_passed = true`).
    passed_before: Vec<bool>,
    /// Which account each production enterprise has.
    account_of: Vec<Option<usize>>,
    check_success: HashMap<(String, String, String), String>,
    check_pending: HashSet<(String, String, String)>,
    query_answers: HashMap<String, AuthResult>,
    preset_pis: HashSet<String>,
}

impl TestSystem {
    /// Builds the test system from a validated configuration.
    pub fn from_config(config: &Config) -> Result<TestSystem, StartError> {
        let presets = Presets::embedded();
        let mut accounts = Vec::new();
        let mut by_app_id = HashMap::new();
        let mut by_code = HashMap::new();
        let mut account_of = vec![None; config.enterprises.len()];
        for (production, e) in config.enterprises.iter().enumerate() {
            let Some(test) = &e.test else { continue };
            let key = SecretKey::from_hex(&test.secret_key)
                .map_err(|source| StartError::SecretKey { app_id: test.app_id.clone(), source })?;
            let index = accounts.len();
            by_app_id.insert(test.app_id.clone(), index);
            for (case, code) in test.codes.iter().enumerate() {
                by_code.insert(code.clone(), (index, case));
            }
            account_of[production] = Some(index);
            let mut account = TestAccount {
                enterprise: Enterprise::new(
                    test.app_id.clone(),
                    format!("{} (test)", e.name),
                    KeyRing::new(key, None, None),
                    // Not read: the gate follows the production enterprise's switch, which the admin API changes.
                    true,
                    vec![],
                ),
                production,
                production_app_id: e.app_id.clone(),
                biz_id: test.biz_id.clone(),
                codes: test.codes.clone(),
                passed: Default::default(),
                passed_by: Default::default(),
            };
            account
                .enterprise
                .set_whitelist(&test.ip_whitelist)
                .map_err(|source| StartError::Whitelist { app_id: test.app_id.clone(), source })?;
            accounts.push(account);
        }
        let triple = |p: &crate::identity::PresetPerson| (p.ai.clone(), p.name.clone(), p.id_num.clone());
        let check_success =
            presets.check_success.iter().zip(&presets.loginout_pi).map(|(p, pi)| (triple(p), pi.clone())).collect();
        let check_pending = presets.check_pending.iter().map(triple).collect();
        let mut query_answers = HashMap::new();
        for (ai, pi) in presets.query_success_ai.iter().zip(&presets.loginout_pi) {
            query_answers.insert(ai.clone(), AuthResult { status: AuthStatus::Success, pi: Some(pi.clone()) });
        }
        for ai in &presets.query_pending_ai {
            query_answers.insert(ai.clone(), AuthResult { status: AuthStatus::Pending, pi: None });
        }
        for ai in &presets.query_failure_ai {
            query_answers.insert(ai.clone(), AuthResult { status: AuthStatus::Failure, pi: None });
        }
        Ok(TestSystem {
            accounts,
            by_app_id,
            by_code,
            passed_before: config.enterprises.iter().map(|e| e.test_passed).collect(),
            account_of,
            check_success,
            check_pending,
            query_answers,
            preset_pis: presets.loginout_pi.into_iter().collect(),
        })
    }

    /// The account with this test appId.
    pub fn account(&self, app_id: &str) -> Option<(usize, &TestAccount)> {
        let index = *self.by_app_id.get(app_id)?;
        Some((index, &self.accounts[index]))
    }

    /// The case a code stands for: 4002 when the code is unknown (or another enterprise's), 4003 when it is
    /// a code of another interface.
    pub fn case_for(&self, account: usize, code: &str, interface: Interface) -> Result<usize, CodeError> {
        match self.by_code.get(code) {
            Some(&(owner, case)) if owner == account => {
                if CASES[case].interface == interface {
                    Ok(case)
                } else {
                    Err(CodeError::OtherInterface { case })
                }
            }
            _ => Err(CodeError::Unknown),
        }
    }

    /// How many of the 8 cases the test account of this production enterprise has passed in this run.
    pub fn cases_passed(&self, production: usize) -> usize {
        let account = self.account_of.get(production).copied().flatten();
        account.map_or(0, |a| self.accounts[a].passed.iter().filter(|p| p.load(Ordering::Acquire)).count())
    }

    /// Is this bizId a test account's?
    pub fn is_test_biz_id(&self, biz_id: &str) -> bool {
        self.accounts.iter().any(|a| a.biz_id == biz_id)
    }

    /// SPEC §8: production is open for this enterprise (passed before, or all 8 cases passed in this run).
    pub fn production_unlocked(&self, production: usize) -> bool {
        self.passed_before.get(production).copied().unwrap_or(false)
            || self.account_of.get(production).copied().flatten().is_some_and(|a| self.accounts[a].all_passed())
    }

    /// The test system's answer to a valid check: presets by (ai, name, idNum), "any other data" fails.
    pub fn check(&self, request: &CheckRequest) -> AuthResult {
        let key = (request.ai.clone(), request.name.clone(), request.id_num.clone());
        if let Some(pi) = self.check_success.get(&key) {
            return AuthResult { status: AuthStatus::Success, pi: Some(pi.clone()) };
        }
        if self.check_pending.contains(&key) {
            return AuthResult { status: AuthStatus::Pending, pi: None };
        }
        AuthResult { status: AuthStatus::Failure, pi: None }
    }

    /// The test system's answer to a query: by preset ai; any other ai has no record (2003, our choice).
    pub fn query(&self, ai: &str) -> Option<AuthResult> {
        self.query_answers.get(ai).cloned()
    }

    /// Is this pi one of the test system's presets? (ct=0 records must carry one: 3010 otherwise.)
    pub fn is_preset_pi(&self, pi: &str) -> bool {
        self.preset_pis.contains(pi)
    }

    /// Marks a case passed when the answer meets its condition, remembering the `sign` of the first request that
    /// passed it.
    pub fn record(&self, account: usize, case: usize, answer: &TestAnswer<'_>, sign: &str) {
        let passed = match (case, answer) {
            (0..=5, TestAnswer::Auth(result)) => u8::from(result.status) as usize == case % 3,
            (6, TestAnswer::LoginoutAccepted(records)) => records.iter().any(|r| r.ct == ct::GUEST),
            (7, TestAnswer::LoginoutAccepted(records)) => records.iter().any(|r| r.ct == ct::VERIFIED),
            _ => false,
        };
        if passed {
            if let Some(account) = self.accounts.get(account) {
                account.passed[case].store(true, Ordering::Release);
                let mut by = account.passed_by[case].lock().unwrap_or_else(|p| p.into_inner());
                by.get_or_insert_with(|| sign.to_owned());
            }
        }
    }

    /// Forgets every case's progress.
    pub fn reset(&self) {
        for account in &self.accounts {
            for case in &account.passed {
                case.store(false, Ordering::Release);
            }
            for by in &account.passed_by {
                *by.lock().unwrap_or_else(|p| p.into_inner()) = None;
            }
        }
    }

    /// All accounts.
    pub fn accounts(&self) -> &[TestAccount] {
        &self.accounts
    }

    /// `GET /__admin/testsystem`: credentials (the key only when `shown`), codes and each case's state, with the
    /// journal id of the exchange that passed it (`exchange` finds it by the request's sign).
    pub fn state(&self, shown: SecretKeys, exchange: impl Fn(&str) -> Option<u64>) -> TestSystemState {
        let accounts = self
            .accounts
            .iter()
            .map(|a| {
                let cases = CASES
                    .iter()
                    .zip(&a.codes)
                    .zip(a.passed.iter().zip(&a.passed_by))
                    .map(|((case, code), (passed, by))| TestCaseState {
                        case: case.name.to_owned(),
                        interface: case.interface,
                        path: format!("{}{code}", case.interface.test_path_prefix()),
                        code: code.clone(),
                        passes_when: case.passes_when.to_owned(),
                        passed: passed.load(Ordering::Acquire),
                        passed_by: by.lock().unwrap_or_else(|p| p.into_inner()).as_deref().and_then(&exchange),
                    })
                    .collect();
                TestAccountState {
                    enterprise: a.production_app_id.clone(),
                    app_id: a.enterprise.app_id.clone(),
                    secret_key: a.enterprise.keys.current(0).and_then(|k| shown.show(k)),
                    biz_id: a.biz_id.clone(),
                    cases,
                    all_passed: a.all_passed(),
                    production_unlocked: self.production_unlocked(a.production),
                }
            })
            .collect();
        TestSystemState { secret_keys: shown, accounts }
    }
}

/// What the test system answered, for [`TestSystem::record`].
#[derive(Debug)]
pub enum TestAnswer<'a> {
    Auth(&'a AuthResult),
    LoginoutAccepted(&'a [BehaviourRecord]),
}
