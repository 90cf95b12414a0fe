//! Receipt classification (`reference/delivery-events.md`): a receipt's status word and its
//! Vonage err-code become one [`ReceiptClass`].

/// A receipt's status as Vonage's SMS API DLR names it, or `REPORT`'s outcome word.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum DlrStatus {
    /// The handset has the message.
    Delivered,
    /// Its lifetime passed before the handset could take it (handset off).
    Expired,
    /// The carrier or Vonage failed it.
    Failed,
    /// The carrier or Vonage refused it.
    Rejected,
    /// Intermediate: accepted for delivery.
    Accepted,
    /// Intermediate: waiting in the network.
    Buffered,
    /// The carrier said nothing useful.
    Unknown,
}

impl DlrStatus {
    /// Every status with its name.
    const NAMES: [(&'static str, DlrStatus); 7] = [
        ("delivered", DlrStatus::Delivered),
        ("expired", DlrStatus::Expired),
        ("failed", DlrStatus::Failed),
        ("rejected", DlrStatus::Rejected),
        ("accepted", DlrStatus::Accepted),
        ("buffered", DlrStatus::Buffered),
        ("unknown", DlrStatus::Unknown),
    ];

    /// The status named `name` (lower case, as Vonage sends it).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::NAMES
            .into_iter()
            .find_map(|(n, status)| (n == name).then_some(status))
    }

    /// A Messages API status callback's status: `delivered`, the failures `rejected` and
    /// `undeliverable`, and the intermediate `submitted`.
    pub fn from_messages_api(name: &str) -> Option<Self> {
        match name {
            "delivered" => Some(DlrStatus::Delivered),
            "rejected" => Some(DlrStatus::Rejected),
            "undeliverable" => Some(DlrStatus::Failed),
            "submitted" => Some(DlrStatus::Accepted),
            _ => None,
        }
    }
}

/// What one receipt says about its sender.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ReceiptClass {
    /// Delivered: counts for the sender.
    Delivered,
    /// A failure the sender is to blame for (unroutable, failed or rejected with no
    /// recipient-side cause, network and portability errors): counts against it.
    SenderFailure,
    /// An anti-spam rejection (err-code 6): a sender failure that also counts as spam.
    Spam,
    /// The recipient's side failed (absent, barred, busy, …): says nothing about the sender.
    RecipientFailure,
    /// The recipient asked not to receive messages from this sender (err-code 9): an opt-out
    /// signal, recorded for the opt-outs of DESIGN §3.5; not counted for health.
    OptOut,
    /// An intermediate status or a fault of the message itself (err-code 10): not counted.
    Ignored,
}

impl ReceiptClass {
    /// Every class, in the order metrics list them.
    pub const ALL: [ReceiptClass; 6] = [
        ReceiptClass::Delivered,
        ReceiptClass::SenderFailure,
        ReceiptClass::Spam,
        ReceiptClass::RecipientFailure,
        ReceiptClass::OptOut,
        ReceiptClass::Ignored,
    ];

    /// The name metrics and `INFO` use.
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiptClass::Delivered => "delivered",
            ReceiptClass::SenderFailure => "sender_failure",
            ReceiptClass::Spam => "spam",
            ReceiptClass::RecipientFailure => "recipient_failure",
            ReceiptClass::OptOut => "opt_out",
            ReceiptClass::Ignored => "ignored",
        }
    }

    /// Classifies a receipt with `status` and, when given and non-zero, `err_code`. A non-zero
    /// code decides by the reference's table (an unlisted one is a sender failure); without
    /// one the status decides.
    pub fn of(status: DlrStatus, err_code: Option<u32>) -> Self {
        match err_code {
            Some(code) if code != 0 && status != DlrStatus::Delivered => Self::of_code(code),
            _ => Self::of_status(status),
        }
    }

    /// The class of a non-zero Vonage err-code.
    fn of_code(code: u32) -> Self {
        match code {
            6 => ReceiptClass::Spam,
            9 => ReceiptClass::OptOut,
            10 => ReceiptClass::Ignored,
            2 | 3 | 4 | 7 | 12 | 13 | 14 => ReceiptClass::RecipientFailure,
            // 1 unknown cause, 5 portability, 8 network, 11 unroutable, and every code the
            // table does not list.
            _ => ReceiptClass::SenderFailure,
        }
    }

    /// The class of a status with no useful err-code.
    fn of_status(status: DlrStatus) -> Self {
        match status {
            DlrStatus::Delivered => ReceiptClass::Delivered,
            DlrStatus::Expired => ReceiptClass::RecipientFailure,
            DlrStatus::Failed | DlrStatus::Rejected | DlrStatus::Unknown => {
                ReceiptClass::SenderFailure
            }
            DlrStatus::Accepted | DlrStatus::Buffered => ReceiptClass::Ignored,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivered_counts_for_the_sender() {
        assert_eq!(
            ReceiptClass::of(DlrStatus::Delivered, Some(0)),
            ReceiptClass::Delivered
        );
        assert_eq!(
            ReceiptClass::of(DlrStatus::Delivered, None),
            ReceiptClass::Delivered
        );
    }

    #[test]
    fn err_code_6_is_spam() {
        assert_eq!(
            ReceiptClass::of(DlrStatus::Rejected, Some(6)),
            ReceiptClass::Spam
        );
    }

    #[test]
    fn err_code_9_is_an_opt_out_signal() {
        assert_eq!(
            ReceiptClass::of(DlrStatus::Failed, Some(9)),
            ReceiptClass::OptOut
        );
    }

    #[test]
    fn recipient_side_codes_do_not_count_against_the_sender() {
        for code in [2, 3, 4, 7, 12, 13, 14] {
            assert_eq!(
                ReceiptClass::of(DlrStatus::Failed, Some(code)),
                ReceiptClass::RecipientFailure,
                "{code}"
            );
        }
        assert_eq!(
            ReceiptClass::of(DlrStatus::Expired, None),
            ReceiptClass::RecipientFailure
        );
    }

    #[test]
    fn sender_side_and_unlisted_codes_are_sender_failures() {
        for code in [1, 5, 8, 11, 15, 99] {
            assert_eq!(
                ReceiptClass::of(DlrStatus::Failed, Some(code)),
                ReceiptClass::SenderFailure,
                "{code}"
            );
        }
        for status in [DlrStatus::Failed, DlrStatus::Rejected, DlrStatus::Unknown] {
            assert_eq!(
                ReceiptClass::of(status, Some(0)),
                ReceiptClass::SenderFailure
            );
        }
    }

    #[test]
    fn intermediate_statuses_and_message_faults_are_ignored() {
        assert_eq!(
            ReceiptClass::of(DlrStatus::Accepted, None),
            ReceiptClass::Ignored
        );
        assert_eq!(
            ReceiptClass::of(DlrStatus::Buffered, Some(0)),
            ReceiptClass::Ignored
        );
        assert_eq!(
            ReceiptClass::of(DlrStatus::Failed, Some(10)),
            ReceiptClass::Ignored
        );
    }

    #[test]
    fn status_names_parse() {
        assert_eq!(DlrStatus::from_name("expired"), Some(DlrStatus::Expired));
        assert_eq!(DlrStatus::from_name("DELIVRD"), None);
        assert_eq!(
            DlrStatus::from_messages_api("undeliverable"),
            Some(DlrStatus::Failed)
        );
        assert_eq!(DlrStatus::from_messages_api("read"), None);
    }
}
