//! `REPORT <sender> <to> <outcome> [ERRCODE <n>]`: a delivery receipt for applications that
//! process Vonage's receipts themselves (DESIGN §3.4, §4). The outcome word, refined by the
//! err-code when given, is classified as a receipt of Vonage's SMS API would be.

use super::{write_engine_error, write_invalid_recipient, AccountCtx, CommandError};
use crate::engine::{EngineError, Receipt};
use crate::resp::parse::{ArgCursor, ParseError};
use crate::resp::reply::Reply;
use numpool_core::delivery::{DlrStatus, ReceiptClass};
use numpool_core::model::Msisdn;

/// The outcome words and what each stands for: a receipt status and the err-code it implies.
const OUTCOMES: [(&str, DlrStatus, Option<u32>); 6] = [
    ("delivered", DlrStatus::Delivered, None),
    ("failed", DlrStatus::Failed, None),
    ("rejected", DlrStatus::Rejected, None),
    ("expired", DlrStatus::Expired, None),
    ("spam", DlrStatus::Rejected, Some(6)),
    ("optout", DlrStatus::Failed, Some(9)),
];

/// A parsed `REPORT`; its values are checked when it runs, each with its own error reply.
pub(crate) struct Report<'a> {
    /// Our number the message went from.
    sender: &'a str,
    /// The recipient.
    to: &'a str,
    /// The outcome word.
    outcome: &'a str,
    /// The Vonage err-code, if given.
    err_code: Option<&'a str>,
}

impl<'a> Report<'a> {
    /// Parses the arguments: three, then `ERRCODE <n>` optionally.
    pub(crate) fn parse(cursor: &mut ArgCursor<'a>) -> Result<Self, CommandError<'a>> {
        let mut report = Report {
            sender: cursor.next_str()?,
            to: cursor.next_str()?,
            outcome: cursor.next_str()?,
            err_code: None,
        };
        if cursor.remaining() > 0 {
            let option = cursor.next_str()?;
            if !option.eq_ignore_ascii_case("errcode") || cursor.remaining() == 0 {
                return Err(ParseError::Syntax.into());
            }
            report.err_code = Some(cursor.next_str()?);
        }
        cursor.finish()?;
        Ok(report)
    }

    /// Counts the receipt: what the reply will say. Run apart from writing the reply, so a
    /// session can run a `REPORT` read among pipelined `PICK`s at once and answer it in its
    /// place among theirs.
    pub(crate) async fn run(self, ctx: &AccountCtx<'_>) -> ReportAnswer<'a> {
        match self.receipt() {
            Err(invalid) => ReportAnswer::Invalid(invalid),
            Ok(receipt) => match ctx.engine.receipt(ctx.account, receipt).await {
                Ok(()) => ReportAnswer::Counted,
                Err(err) => ReportAnswer::Failed(err),
            },
        }
    }

    /// The receipt, or what is wrong with an argument.
    fn receipt(&self) -> Result<Receipt, Invalid<'a>> {
        let sender = Msisdn::parse(self.sender)
            .map_err(|_| Invalid::Argument(format!("invalid sender '{}'", self.sender)))?;
        let Some((_, status, implied)) = OUTCOMES
            .into_iter()
            .find(|(word, ..)| word.eq_ignore_ascii_case(self.outcome))
        else {
            return Err(Invalid::Argument(format!(
                "unknown outcome '{}': use delivered, failed, rejected, expired, spam or optout",
                self.outcome
            )));
        };
        let code = match self.err_code {
            Some(text) => Some(text.parse::<u32>().map_err(|_| {
                Invalid::Argument(format!("invalid ERRCODE '{text}': a non-negative integer"))
            })?),
            None => implied,
        };
        let to = Msisdn::parse(self.to).map_err(|_| Invalid::Recipient(self.to))?;
        Ok(Receipt {
            sender,
            to,
            class: ReceiptClass::of(status, code),
        })
    }
}

/// What a `REPORT` did, for its reply.
pub(crate) enum ReportAnswer<'a> {
    /// Counted: `+OK`.
    Counted,
    /// An argument does not hold; nothing counted.
    Invalid(Invalid<'a>),
    /// The engine refused it (a sender the account does not own, storage): nothing counted.
    Failed(EngineError),
}

impl ReportAnswer<'_> {
    /// `+OK`, or the error naming the bad argument or the sender the account does not own.
    pub(crate) fn write_reply(&self, out: &mut Reply<'_>) {
        match self {
            ReportAnswer::Counted => out.simple("OK"),
            ReportAnswer::Invalid(Invalid::Recipient(to)) => write_invalid_recipient(out, to),
            ReportAnswer::Invalid(Invalid::Argument(why)) => {
                out.error_fmt(format_args!("ERR {why}"))
            }
            ReportAnswer::Failed(err) => write_engine_error(out, err),
        }
    }
}

/// A `REPORT` argument that does not hold.
pub(crate) enum Invalid<'a> {
    /// The recipient is not an E.164 number: the error every command taking one replies.
    Recipient(&'a str),
    /// Another argument, with what is wrong with it.
    Argument(String),
}
