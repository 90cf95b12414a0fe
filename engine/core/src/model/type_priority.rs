//! A pool's type priority (DESIGN §3.2 rule 4): per recipient country, the line types a
//! localized pick tries in order, as Plivo and Twilio prefer short codes, then toll-free, then
//! long codes.

use std::collections::BTreeMap;

use super::classify::classifier;
use super::ids::Country;
use super::number::NumberType;
use super::InvalidInput;

/// Line types in order per country, and for every other country (`*`). Absent for a country,
/// every type is one group.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct TypePriority {
    /// The lists of named countries.
    by_country: BTreeMap<Country, Vec<NumberType>>,
    /// The list of `*`: every country not named.
    elsewhere: Option<Vec<NumberType>>,
}

impl TypePriority {
    /// A priority from `(country or None for "*", types)` entries; each country must be a
    /// region libphonenumber knows, each list non-empty and naming a type at most once. A key
    /// given twice keeps its last list.
    pub fn new(
        entries: impl IntoIterator<Item = (Option<Country>, Vec<NumberType>)>,
    ) -> Result<Self, InvalidInput> {
        let mut priority = TypePriority::default();
        for (country, types) in entries {
            let repeats = types
                .iter()
                .enumerate()
                .any(|(i, t)| types[..i].contains(t));
            if types.is_empty() || repeats {
                return Err(InvalidInput::TypePriority {
                    key: country.map_or_else(|| "*".to_owned(), |c| c.as_str().to_owned()),
                });
            }
            match country {
                Some(country) if !classifier().knows(country) => {
                    return Err(InvalidInput::UnknownRegion(country));
                }
                Some(country) => {
                    priority.by_country.insert(country, types);
                }
                None => priority.elsewhere = Some(types),
            }
        }
        Ok(priority)
    }

    /// The entries, named countries first (in code order), then `*` as `None`.
    pub fn entries(&self) -> impl Iterator<Item = (Option<Country>, &[NumberType])> {
        self.by_country
            .iter()
            .map(|(c, types)| (Some(*c), types.as_slice()))
            .chain(self.elsewhere.as_deref().map(|types| (None, types)))
    }

    /// Where a number of `kind` in `country` ranks: its type's place in the country's list;
    /// types not listed, and numbers without a type, rank after every listed one, together.
    /// Without a list every number ranks 0.
    pub(crate) fn rank(&self, country: Country, kind: Option<NumberType>) -> usize {
        let Some(list) = self.by_country.get(&country).or(self.elsewhere.as_ref()) else {
            return 0;
        };
        kind.and_then(|k| list.iter().position(|t| *t == k))
            .unwrap_or(list.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us() -> Country {
        Country::new("US").unwrap()
    }

    #[test]
    fn listed_types_rank_in_order_and_the_rest_after_them() {
        let priority = TypePriority::new([
            (Some(us()), vec![NumberType::TollFree, NumberType::Mobile]),
            (None, vec![NumberType::Mobile]),
        ])
        .unwrap();
        assert_eq!(priority.rank(us(), Some(NumberType::TollFree)), 0);
        assert_eq!(priority.rank(us(), Some(NumberType::Mobile)), 1);
        assert_eq!(priority.rank(us(), Some(NumberType::Landline)), 2);
        assert_eq!(priority.rank(us(), None), 2);
        let gb = Country::new("GB").unwrap();
        assert_eq!(priority.rank(gb, Some(NumberType::Mobile)), 0);
        assert_eq!(priority.rank(gb, Some(NumberType::TollFree)), 1);
        assert_eq!(TypePriority::default().rank(gb, None), 0);
    }

    #[test]
    fn an_unknown_region_or_an_empty_or_repeating_list_is_refused() {
        assert!(TypePriority::new([(Some(us()), vec![])]).is_err());
        let nowhere = Country::new("ZZ").unwrap();
        assert!(matches!(
            TypePriority::new([(Some(nowhere), vec![NumberType::Mobile])]),
            Err(InvalidInput::UnknownRegion(c)) if c == nowhere
        ));
        let twice = vec![NumberType::Mobile, NumberType::Mobile];
        assert!(matches!(
            TypePriority::new([(None, twice)]),
            Err(InvalidInput::TypePriority { key }) if key == "*"
        ));
    }
}
