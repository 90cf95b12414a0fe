//! `OPTOUT.ADD|DEL|GET <pool_id> <to>` (DESIGN §3.5, §4): a pool's opt-outs for applications
//! that handle STOP themselves. `ADD` records the opt-out as the API's, fsynced before `:1`.

use super::{write_engine_error, AccountCtx, Outcome, PoolRecipient};
use crate::resp::reply::Reply;
use numpool_core::model::OptOutReason;

/// Which of the three.
pub(crate) enum OptOutVerb {
    /// Opt the recipient out: `:1` if it was not yet.
    Add,
    /// Lift its opt-out: `:1` if there was one.
    Del,
    /// `:1` if it is opted out.
    Get,
}

/// A parsed `OPTOUT.*`.
pub(crate) struct OptOutCommand<'a> {
    /// What to do.
    pub(crate) verb: OptOutVerb,
    /// The pool and the recipient.
    pub(crate) target: PoolRecipient<'a>,
}

impl OptOutCommand<'_> {
    /// `:1` or `:0`, or the engine's error (`-NOPOOL`, `-ERR STORAGE …`).
    pub(crate) async fn apply(self, ctx: &AccountCtx<'_>, out: &mut Reply<'_>) -> Outcome {
        let PoolRecipient { pool, to } = self.target;
        let (engine, account) = (ctx.engine, ctx.account);
        let answer = match self.verb {
            OptOutVerb::Add => engine
                .opt_out(account, pool, to, OptOutReason::Api)
                .await
                .map(|(new, _)| new),
            OptOutVerb::Del => engine.opt_in(account, pool, to).await,
            OptOutVerb::Get => engine
                .opted_out(account, pool, to)
                .await
                .map(|o| o.is_some()),
        };
        match answer {
            Ok(yes) => out.integer(i64::from(yes)),
            Err(err) => write_engine_error(out, &err),
        }
        Outcome::Continue
    }
}
