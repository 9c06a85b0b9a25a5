//! The S/KEY (RFC 2289) values that travel in requests and replies: the chain's
//! algorithm, the set-up sent at registration, and the login challenge.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::OtpValue;

/// The hash behind an S/KEY chain.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum OtpAlgorithm {
    /// `otp-md4`, kept for RFC completeness.
    Md4,
    /// `otp-md5`, the RFC's common choice.
    Md5,
    /// `otp-sha1`.
    Sha1,
}

/// The S/KEY set-up a client sends at registration or re-initialisation: the
/// server learns the chain's `count`-th value, never the passphrase.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct OtpInit {
    /// Hash algorithm of the chain.
    pub algorithm: OtpAlgorithm,
    /// Seed, 1–16 alphanumerics, lower case.
    pub seed: String,
    /// The chain position of `otp`: how many hash-and-fold steps follow the
    /// first hash of seed and pass phrase (so `count + 1` hashes in all).
    pub count: u32,
    /// The one-time password for `count`.
    pub otp: OtpValue,
}

/// An S/KEY challenge: answer with the OTP for `count` (written `otp-md5 499 ke1234`).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Challenge {
    /// Hash algorithm of the chain.
    pub algorithm: OtpAlgorithm,
    /// The sequence number the response must be computed for.
    pub count: u32,
    /// The chain's seed.
    pub seed: String,
}

impl fmt::Display for OtpAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OtpAlgorithm::Md4 => "otp-md4",
            OtpAlgorithm::Md5 => "otp-md5",
            OtpAlgorithm::Sha1 => "otp-sha1",
        })
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.algorithm, self.count, self.seed)
    }
}
