//! The official test system's 8 cases (test system V1.2): which interface each tests and when it passes. Their own
//! module, so that refusals can name a case without reaching the test system's state.

use nppa_protocol::Interface;

/// One of the 8 cases.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    pub name: &'static str,
    pub interface: Interface,
    pub passes_when: &'static str,
}

/// The 8 cases, in order (test system V1.2).
pub const CASES: [Case; 8] = [
    Case { name: "testcase01", interface: Interface::Check, passes_when: "check answers status 0 (认证成功)" },
    Case { name: "testcase02", interface: Interface::Check, passes_when: "check answers status 1 (认证中)" },
    Case { name: "testcase03", interface: Interface::Check, passes_when: "check answers status 2 (认证失败)" },
    Case { name: "testcase04", interface: Interface::Query, passes_when: "query answers status 0" },
    Case { name: "testcase05", interface: Interface::Query, passes_when: "query answers status 1" },
    Case { name: "testcase06", interface: Interface::Query, passes_when: "query answers status 2" },
    Case {
        name: "testcase07",
        interface: Interface::Loginout,
        passes_when: "loginout accepted with a guest record (ct=2)",
    },
    Case {
        name: "testcase08",
        interface: Interface::Loginout,
        passes_when: "loginout accepted with a verified record (ct=0) carrying a preset pi",
    },
];
