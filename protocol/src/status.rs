//! Every status code of SPEC §4 and its exact errmsg. Nothing else in the workspace spells these strings.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! status_codes {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $msg:literal, $zh:literal; )*) => {
        /// A protocol status code (`errcode`) with its errmsg (SPEC §4).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum StatusCode {
            $( $(#[$doc])* $variant, )*
        }

        impl StatusCode {
            /// Every code, in numeric order.
            pub const ALL: &'static [StatusCode] = &[ $(StatusCode::$variant,)* ];

            /// The numeric `errcode`.
            pub const fn code(self) -> u16 {
                match self { $(StatusCode::$variant => $code,)* }
            }

            /// The exact `errmsg` the real system sends.
            pub const fn errmsg(self) -> &'static str {
                match self { $(StatusCode::$variant => $msg,)* }
            }

            /// The code's description in Chinese as the V2.1 interface spec gives it (接口对接技术规范 V2.1, section
            /// "(五) 接口返回状态码", the 状态说明 column), quoted exactly; `None` for a code it does not describe.
            pub const fn description_zh(self) -> Option<&'static str> {
                match self { $(StatusCode::$variant => if $zh.is_empty() { None } else { Some($zh) },)* }
            }

            /// The code for a numeric `errcode`, if it is one of SPEC §4.
            pub const fn from_code(code: u16) -> Option<StatusCode> {
                match code { $($code => Some(StatusCode::$variant),)* _ => None }
            }
        }
    };
}

// Each code: its variant, errcode, errmsg, and the V2.1 interface spec's 状态说明 quoted from its table in
// "(五) 接口返回状态码" ("" would mean the spec describes the code nowhere: none is made up; today it describes all 34).
status_codes! {
    /// Success.
    Ok = 0, "OK", "请求成功";
    /// Malformed JSON, body not `{"data":…}`, loginout without `collections`.
    SysError = 1001, "SYS ERROR", "系统错误";
    /// Unknown path.
    ResourceNotExist = 1002, "SYS REQ RESOURCE NOT EXIST", "接口请求的资源不存在";
    /// Wrong HTTP method for a known path.
    MethodError = 1003, "SYS REQ METHOD ERROR", "接口请求方式错误";
    /// A required header missing or empty (R-HDR-1).
    HeaderMiss = 1004, "SYS REQ HEADER MISS ERROR", "接口请求核心参数缺失";
    /// Client IP not whitelisted (R-IP-1).
    IpError = 1005, "SYS REQ IP ERROR", "接口请求IP地址非法";
    /// Rate limit exceeded (R-RL-1/2).
    Busy = 1006, "SYS REQ BUSY ERROR", "接口请求超出流量限制";
    /// `timestamps` outside the 5 s window (R-TS-1).
    Expire = 1007, "SYS REQ EXPIRE ERROR", "接口请求过期";
    /// Unknown appId, mixed test/production credentials, production before the test cases pass.
    PartnerError = 1008, "SYS REQ PARTNER ERROR", "接口请求方身份非法";
    /// Enterprise disabled.
    PartnerAuthDisable = 1009, "SYS REQ PARTNER AUTH DISABLE", "接口请求方权限未启用";
    /// bizId not bound to the appId, or the binding lacks the interface's permission (R-ENT-1).
    AuthError = 1010, "SYS REQ AUTH ERROR", "接口请求方无该接口权限";
    /// Signature, key or decryption failure; malformed header (R-SIG-3, R-HDR-2).
    PartnerAuthError = 1011, "SYS REQ PARTNER AUTH ERROR", "接口请求方身份核验错误";
    /// Decrypted JSON of the wrong shape.
    ParamCheckError = 1012, "SYS REQ PARAM CHECK ERROR", "接口请求报文核验失败";
    /// idNum fails R-ID.
    IdNumIllegal = 2001, "BUS AUTH IDNUM ILLEGAL", "身份证号格式校验失败";
    /// Live records at the cap.
    ResourceLimit = 2002, "BUS AUTH RESOURCE LIMIT", "实名认证条目已达上限";
    /// No live record for the ai (R-QRY-3).
    NoAuthRecord = 2003, "BUS AUTH CODE NO AUTH RECODE", "无该编码提交的实名认证记录";
    /// The ai is still in use (R-CHK-3).
    AiInUse = 2004, "BUS AUTH CODE ALREADY IN USE", "编码已经被占用";
    /// name fails R-NAME. The real errmsg is spelled "ILLEGA".
    NameIllegal = 2005, "BUS AUTH NAME ILLEGA", "姓名合法性校验错误";
    /// PlayerId generation error (fault injection only).
    PlayerIdError = 2006, "BUS AUTH PLAYERID ERROR", "PlayerId生成错误";
    /// Ministry of Public Security state error (fault injection only).
    RemoteStateError = 2007, "BUS AUTH REMOTE STATE ERROR", "公安部状态异常";
    /// Ministry of Public Security call error (fault injection only).
    RemoteExecuteError = 2008, "BUS AUTH REMOTE EXECUTE ERROR", "公安部调用错误";
    /// Some behaviour records rejected (R-BEH-2).
    PartialError = 3001, "BUS COLL PARTIAL ERROR", "行为数据部分上报失败";
    /// `collections` empty (R-BEH-1).
    BehaviorNull = 3002, "BUS COLL BEHAVIOR NULL ERROR", "行为数据为空";
    /// More than 128 records (R-BEH-1).
    OverLimitCount = 3003, "BUS COLL OVER LIMIT COUNT", "行为数据超出条目数量限制";
    /// `no` outside 1..=128 or repeated.
    NoInvalid = 3004, "BUS COLL NO INVALID", "行为数据编码错误";
    /// R-BEH-TIME.
    BehaviorTimeError = 3005, "BUS COLL BEHAVIOR TIME ERROR", "行为发生时间错误";
    /// `ct` not 0 or 2.
    PlayerModeInvalid = 3006, "BUS COLL PLAYER MODE INVALID", "用户类型无效";
    /// `bt` not 0 or 1.
    BehaviorModeInvalid = 3007, "BUS COLL BEHAVIOR MODE INVALID", "行为类型无效";
    /// ct=0 without pi.
    PlayerIdMiss = 3008, "BUS COLL PLAYERID MISS", "缺失PI值";
    /// ct=2 without di.
    DeviceIdMiss = 3009, "BUS COLL DEVICEID MISS", "缺失DI值";
    /// pi not a well-formed PI (R-PI).
    PlayerIdInvalid = 3010, "BUS COLL PLAYERID INVALID", "PI值无效";
    /// Test system error (fault injection only).
    TestSysError = 4001, "TEST SYS ERROR", "测试系统错误";
    /// Unknown or expired test code.
    TestTaskNotExist = 4002, "TEST TASK NOT EXIST", "测试任务不存在";
    /// Test code used on the wrong interface.
    TestParamInvalid = 4003, "TEST PARAM INVALID ERROR", "测试参数无效";
}

impl StatusCode {
    /// True for success.
    pub const fn is_ok(self) -> bool {
        matches!(self, StatusCode::Ok)
    }

    /// The one answer to "retry or not" (SPEC §8a): true when the system erred, not the request, so the same
    /// request may succeed later: 1001 (SYS ERROR, also the system's own failure), 2006–2008 (the Ministry of
    /// Public Security), 4001 (the test system). A careful client retries these a bounded number of times,
    /// spaced, re-signed. Everything else is not transient: success, 1006 (wait for the block to end, see
    /// [`StatusCode::is_busy`]), 3001 (re-send only the rejected records) and every code that says the request
    /// itself is wrong, which no retry changes.
    pub const fn is_transient(self) -> bool {
        matches!(
            self,
            StatusCode::SysError
                | StatusCode::PlayerIdError
                | StatusCode::RemoteStateError
                | StatusCode::RemoteExecuteError
                | StatusCode::TestSysError
        )
    }

    /// 1006: the (appId, bizId, interface) is blocked; wait for the block to end (R-RL-2) before calling it again.
    pub const fn is_busy(self) -> bool {
        matches!(self, StatusCode::Busy)
    }

    /// 1007 and 1011: the envelope was refused (timestamps out of the window, sign or encryption wrong), which a
    /// fresh timestamp and a new sign fix, so the same plaintext re-signed is a right retry, not a resend (SPEC §8a).
    pub const fn is_fixed_by_resigning(self) -> bool {
        matches!(self, StatusCode::Expire | StatusCode::PartnerAuthError)
    }

    /// True when sending the same request again cannot change the answer: an error that is neither transient,
    /// nor 1006, nor the per-record 3001 (ERR-RETRY).
    pub const fn is_final_error(self) -> bool {
        !self.is_ok() && !self.is_transient() && !self.is_busy() && !matches!(self, StatusCode::PartialError)
    }
}

impl std::fmt::Display for StatusCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code(), self.errmsg())
    }
}

impl Serialize for StatusCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u16(self.code())
    }
}

impl<'de> Deserialize<'de> for StatusCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = u16::deserialize(deserializer)?;
        StatusCode::from_code(code).ok_or_else(|| serde::de::Error::custom(format!("unknown NPPA status code {code}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_four_codes_round_trip() {
        assert_eq!(StatusCode::ALL.len(), 34, "SPEC §4 lists 34 codes");
        for &code in StatusCode::ALL {
            assert_eq!(StatusCode::from_code(code.code()), Some(code));
        }
        assert_eq!(StatusCode::from_code(1013), None);
    }

    #[test]
    fn every_error_is_transient_busy_partial_or_final() {
        let transient: Vec<u16> = StatusCode::ALL.iter().filter(|c| c.is_transient()).map(|c| c.code()).collect();
        assert_eq!(transient, [1001, 2006, 2007, 2008, 4001]);
        for &code in StatusCode::ALL {
            let kinds = [
                code.is_ok(),
                code.is_transient(),
                code.is_busy(),
                code == StatusCode::PartialError,
                code.is_final_error(),
            ];
            assert_eq!(kinds.iter().filter(|k| **k).count(), 1, "{code} is exactly one kind");
        }
    }

    #[test]
    fn the_chinese_descriptions_are_the_specs_words() {
        // Quoted from the V2.1 spec's table (接口对接技术规范 V2.1, "(五) 接口返回状态码"), not translated.
        assert_eq!(StatusCode::Ok.description_zh(), Some("请求成功"));
        assert_eq!(StatusCode::PartnerAuthError.description_zh(), Some("接口请求方身份核验错误"));
        assert_eq!(StatusCode::PlayerIdError.description_zh(), Some("PlayerId生成错误"));
        assert_eq!(StatusCode::TestParamInvalid.description_zh(), Some("测试参数无效"));
        assert!(StatusCode::ALL.iter().all(|c| c.description_zh().is_some()), "the spec describes every code");
    }

    #[test]
    fn errmsg_keeps_the_real_spelling() {
        assert_eq!(StatusCode::NameIllegal.errmsg(), "BUS AUTH NAME ILLEGA");
        assert_eq!(StatusCode::NoAuthRecord.errmsg(), "BUS AUTH CODE NO AUTH RECODE");
        assert_eq!(StatusCode::Ok.errmsg(), "OK");
    }
}
