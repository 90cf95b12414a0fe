//! The keywords of an inbound message (DESIGN §3.5): a message whose whole text, trimmed and
//! in any case, is one of them opts its sender out of a pool, back in, or asks for help. Only
//! the whole text counts: "stop sending me the old offer" is a reply, not an opt-out, and
//! "STOP." is not STOP (Twilio and Telnyx match the same way; docs/decisions.md).

/// What an inbound message's keyword asks for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum KeywordAction {
    /// Receive nothing more.
    OptOut,
    /// Lift an opt-out.
    OptIn,
    /// Asks for help; reported, not acted on.
    Help,
}

/// A recognised keyword: its canonical (upper-case) form and what it asks for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Keyword {
    /// The keyword as listed (`STOP`, `START`, …), whatever the case it was written in.
    pub word: &'static str,
    /// What it asks for.
    pub action: KeywordAction,
}

/// Every keyword, CTIA's lists as Twilio and Telnyx apply them (REVOKE and OPTOUT from the
/// newer guidance, YES as an opt-in).
const KEYWORDS: [Keyword; 13] = [
    opt_out("STOP"),
    opt_out("STOPALL"),
    opt_out("UNSUBSCRIBE"),
    opt_out("CANCEL"),
    opt_out("END"),
    opt_out("QUIT"),
    opt_out("REVOKE"),
    opt_out("OPTOUT"),
    opt_in("START"),
    opt_in("UNSTOP"),
    opt_in("YES"),
    help("HELP"),
    help("INFO"),
];

const fn opt_out(word: &'static str) -> Keyword {
    Keyword {
        word,
        action: KeywordAction::OptOut,
    }
}

const fn opt_in(word: &'static str) -> Keyword {
    Keyword {
        word,
        action: KeywordAction::OptIn,
    }
}

const fn help(word: &'static str) -> Keyword {
    Keyword {
        word,
        action: KeywordAction::Help,
    }
}

impl Keyword {
    /// The keyword `text` is, if its whole text (surrounding whitespace aside, in any case)
    /// is one.
    pub fn of(text: &str) -> Option<Keyword> {
        let text = text.trim();
        KEYWORDS
            .into_iter()
            .find(|k| k.word.eq_ignore_ascii_case(text))
    }
}

impl KeywordAction {
    /// The API name of what was done about it (`opted_out`, `opted_in`, `help`).
    pub fn as_str(self) -> &'static str {
        match self {
            KeywordAction::OptOut => "opted_out",
            KeywordAction::OptIn => "opted_in",
            KeywordAction::Help => "help",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_opt_out_keyword_in_any_case_and_padding() {
        for word in [
            "STOP",
            "STOPALL",
            "UNSUBSCRIBE",
            "CANCEL",
            "END",
            "QUIT",
            "REVOKE",
            "OPTOUT",
        ] {
            for text in [
                word.to_owned(),
                word.to_lowercase(),
                format!("  {}\n", word.to_lowercase()),
                format!("\t{word} "),
            ] {
                let keyword = Keyword::of(&text).unwrap_or_else(|| panic!("{text:?}"));
                assert_eq!(
                    (keyword.word, keyword.action),
                    (word, KeywordAction::OptOut)
                );
            }
        }
    }

    #[test]
    fn opt_in_and_help_keywords() {
        for word in ["START", "UNSTOP", "YES"] {
            assert_eq!(Keyword::of(word).unwrap().action, KeywordAction::OptIn);
        }
        assert_eq!(Keyword::of("Start").unwrap().word, "START");
        for word in ["HELP", "info", " Help "] {
            assert_eq!(Keyword::of(word).unwrap().action, KeywordAction::Help);
        }
    }

    #[test]
    fn only_the_whole_text_counts() {
        for text in [
            "",
            "   ",
            "STOP.",
            "STOP!",
            "please stop",
            "stop sending me this",
            "STOP STOP",
            "S TOP",
            "yes please",
            "HELPME",
            "ST0P",
        ] {
            assert_eq!(Keyword::of(text), None, "{text:?}");
        }
    }

    #[test]
    fn non_ascii_text_is_no_keyword() {
        // `eq_ignore_ascii_case` never folds these onto ASCII letters.
        for text in ["ＳＴＯＰ", "STOPß", "ſtop"] {
            assert_eq!(Keyword::of(text), None, "{text:?}");
        }
    }

    #[test]
    fn actions_have_api_names() {
        assert_eq!(KeywordAction::OptOut.as_str(), "opted_out");
        assert_eq!(KeywordAction::OptIn.as_str(), "opted_in");
        assert_eq!(KeywordAction::Help.as_str(), "help");
    }
}
