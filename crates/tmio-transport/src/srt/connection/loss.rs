//! Ordered lists of lost packets, kept as disjoint half-open ranges of absolute indices.
//!
//! Used by the sender (packets to retransmit, from NAKs and retransmission timeouts) and by the
//! receiver (gaps still missing, with the time each was last reported in a NAK). Losses usually arrive
//! in increasing order, so appends and front removals are O(1); anything else is a binary search plus
//! an O(ranges) `VecDeque` insert/remove, and ranges stay few because adjacent ones are merged.

use std::collections::VecDeque;

/// One range `[start, end)` of lost packets with a piece of metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LossRange<M> {
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) meta: M,
}

/// Disjoint, sorted ranges of lost packet indices.
#[derive(Debug, Clone)]
pub(crate) struct LossList<M> {
    ranges: VecDeque<LossRange<M>>,
    packets: u64,
}

impl<M> Default for LossList<M> {
    fn default() -> Self {
        Self {
            ranges: VecDeque::new(),
            packets: 0,
        }
    }
}

impl<M: Copy + PartialEq> LossList<M> {
    /// Number of lost packets listed.
    pub(crate) fn packet_count(&self) -> u64 {
        self.packets
    }

    /// Whether nothing is listed.
    pub(crate) fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The smallest listed index.
    pub(crate) fn first(&self) -> Option<u64> {
        self.ranges.front().map(|range| range.start)
    }

    /// The ranges in increasing order, with mutable metadata.
    pub(crate) fn ranges_mut(&mut self) -> impl Iterator<Item = &mut LossRange<M>> {
        self.ranges.iter_mut()
    }

    /// Adds `[start, end)`. Indices already listed keep their metadata; new ones get `meta`.
    pub(crate) fn insert(&mut self, start: u64, end: u64, meta: M) {
        if start >= end {
            return;
        }
        // Fast path: append after everything (the usual case for fresh gaps and NAKs).
        match self.ranges.back_mut() {
            None => {
                self.push_back(start, end, meta);
                return;
            }
            Some(last) if start >= last.end => {
                if start == last.end && last.meta == meta {
                    last.end = end;
                    self.packets += end - start;
                } else {
                    self.push_back(start, end, meta);
                }
                return;
            }
            Some(_) => {}
        }
        // General case: fill the holes of [start, end) not covered by existing ranges.
        let mut cursor = start;
        let mut index = self.ranges.partition_point(|range| range.end <= start);
        while cursor < end {
            let next_start = self.ranges.get(index).map_or(u64::MAX, |range| range.start);
            if cursor < next_start {
                let hole_end = end.min(next_start);
                self.ranges.insert(
                    index,
                    LossRange {
                        start: cursor,
                        end: hole_end,
                        meta,
                    },
                );
                self.packets += hole_end - cursor;
                index += 1;
                cursor = hole_end;
            } else if let Some(range) = self.ranges.get(index) {
                cursor = cursor.max(range.end);
                index += 1;
            }
        }
        self.merge_neighbours(start, end);
    }

    fn push_back(&mut self, start: u64, end: u64, meta: M) {
        self.ranges.push_back(LossRange { start, end, meta });
        self.packets += end - start;
    }

    /// Merges adjacent ranges with equal metadata around `[start, end)`.
    fn merge_neighbours(&mut self, start: u64, end: u64) {
        let mut index = self
            .ranges
            .partition_point(|range| range.end < start)
            .saturating_sub(1);
        while index + 1 < self.ranges.len() {
            let (current, next) = (self.ranges[index], self.ranges[index + 1]);
            if current.start > end {
                break;
            }
            if current.end == next.start && current.meta == next.meta {
                self.ranges[index].end = next.end;
                self.ranges.remove(index + 1);
            } else {
                index += 1;
            }
        }
    }

    /// The metadata of the range holding `index`, if listed.
    pub(crate) fn meta_of(&self, index: u64) -> Option<M> {
        let position = self.ranges.partition_point(|range| range.end <= index);
        self.ranges
            .get(position)
            .filter(|range| range.start <= index)
            .map(|range| range.meta)
    }

    /// Removes one index; returns whether it was listed.
    pub(crate) fn remove(&mut self, index: u64) -> bool {
        let position = self.ranges.partition_point(|range| range.end <= index);
        let Some(range) = self.ranges.get_mut(position) else {
            return false;
        };
        if index < range.start {
            return false;
        }
        self.packets -= 1;
        if range.start == index {
            range.start += 1;
            if range.start == range.end {
                self.ranges.remove(position);
            }
        } else if range.end == index + 1 {
            range.end -= 1;
        } else {
            let tail = LossRange {
                start: index + 1,
                end: range.end,
                meta: range.meta,
            };
            range.end = index;
            self.ranges.insert(position + 1, tail);
        }
        true
    }

    /// Removes every index below `index`; returns how many were removed.
    pub(crate) fn remove_below(&mut self, index: u64) -> u64 {
        let mut removed = 0;
        while let Some(front) = self.ranges.front_mut() {
            if front.end <= index {
                removed += front.end - front.start;
                self.ranges.pop_front();
            } else {
                if front.start < index {
                    removed += index - front.start;
                    front.start = index;
                }
                break;
            }
        }
        self.packets -= removed;
        removed
    }

    /// Removes every index in `[start, end)`; returns how many were removed.
    pub(crate) fn remove_range(&mut self, start: u64, end: u64) -> u64 {
        if start >= end {
            return 0;
        }
        let mut removed = 0;
        let mut position = self.ranges.partition_point(|range| range.end <= start);
        while let Some(range) = self.ranges.get_mut(position) {
            if range.start >= end {
                break;
            }
            let cut_start = range.start.max(start);
            let cut_end = range.end.min(end);
            removed += cut_end - cut_start;
            if cut_start == range.start && cut_end == range.end {
                self.ranges.remove(position);
            } else if cut_start == range.start {
                range.start = cut_end;
                position += 1;
            } else if cut_end == range.end {
                range.end = cut_start;
                position += 1;
            } else {
                let tail = LossRange {
                    start: cut_end,
                    end: range.end,
                    meta: range.meta,
                };
                range.end = cut_start;
                self.ranges.insert(position + 1, tail);
                position += 2;
            }
        }
        self.packets -= removed;
        removed
    }

    /// Removes and returns the smallest listed index.
    pub(crate) fn pop_first(&mut self) -> Option<u64> {
        let front = self.ranges.front_mut()?;
        let index = front.start;
        front.start += 1;
        if front.start == front.end {
            self.ranges.pop_front();
        }
        self.packets -= 1;
        Some(index)
    }

    /// Whether `index` is listed.
    #[cfg(test)]
    pub(crate) fn contains(&self, index: u64) -> bool {
        let position = self.ranges.partition_point(|range| range.end <= index);
        self.ranges
            .get(position)
            .is_some_and(|range| range.start <= index)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn appends_merge_and_pop_in_order() {
        let mut list = LossList::default();
        list.insert(5, 8, ());
        list.insert(8, 10, ());
        list.insert(12, 13, ());
        assert_eq!(list.packet_count(), 6);
        assert_eq!(list.ranges.len(), 2);
        let popped: Vec<u64> = std::iter::from_fn(|| list.pop_first()).collect();
        assert_eq!(popped, vec![5, 6, 7, 8, 9, 12]);
        assert!(list.is_empty());
    }

    #[test]
    fn remove_splits_a_range() {
        let mut list = LossList::default();
        list.insert(0, 10, 7u8);
        assert!(list.remove(4));
        assert!(!list.remove(4));
        assert!(!list.contains(4));
        assert!(list.contains(3) && list.contains(5));
        assert_eq!(list.packet_count(), 9);
        assert_eq!(list.remove_below(6), 5);
        assert_eq!(list.first(), Some(6));
    }

    #[test]
    fn overlapping_insert_keeps_existing_metadata() {
        let mut list = LossList::default();
        list.insert(10, 20, 1u8);
        list.insert(5, 25, 2u8);
        let metas: Vec<(u64, u64, u8)> = list
            .ranges_mut()
            .map(|range| (range.start, range.end, range.meta))
            .collect();
        assert_eq!(metas, vec![(5, 10, 2), (10, 20, 1), (20, 25, 2)]);
        assert_eq!(list.packet_count(), 20);
    }

    #[derive(Debug, Clone)]
    enum Operation {
        Insert(u64, u64),
        Remove(u64),
        RemoveBelow(u64),
        RemoveRange(u64, u64),
        Pop,
    }

    fn operation() -> impl Strategy<Value = Operation> {
        prop_oneof![
            (0u64..200, 0u64..20).prop_map(|(start, len)| Operation::Insert(start, start + len)),
            (0u64..220).prop_map(Operation::Remove),
            (0u64..220).prop_map(Operation::RemoveBelow),
            (0u64..200, 0u64..30)
                .prop_map(|(start, len)| Operation::RemoveRange(start, start + len)),
            Just(Operation::Pop),
        ]
    }

    proptest! {
        #[test]
        fn behaves_like_a_set(operations in proptest::collection::vec(operation(), 0..80)) {
            let mut list = LossList::default();
            let mut model = BTreeSet::new();
            for operation in operations {
                match operation {
                    Operation::Insert(start, end) => {
                        list.insert(start, end, ());
                        model.extend(start..end);
                    }
                    Operation::Remove(index) => {
                        prop_assert_eq!(list.remove(index), model.remove(&index));
                    }
                    Operation::RemoveBelow(index) => {
                        let expected = model.range(..index).count() as u64;
                        model.retain(|&value| value >= index);
                        prop_assert_eq!(list.remove_below(index), expected);
                    }
                    Operation::RemoveRange(start, end) => {
                        let expected = model.range(start..end).count() as u64;
                        model.retain(|&value| value < start || value >= end);
                        prop_assert_eq!(list.remove_range(start, end), expected);
                    }
                    Operation::Pop => {
                        let expected = model.iter().next().copied();
                        if let Some(value) = expected {
                            model.remove(&value);
                        }
                        prop_assert_eq!(list.pop_first(), expected);
                    }
                }
                prop_assert_eq!(list.packet_count(), model.len() as u64);
                prop_assert_eq!(list.first(), model.iter().next().copied());
                for (left, right) in list.ranges.iter().zip(list.ranges.iter().skip(1)) {
                    prop_assert!(left.start < left.end && left.end <= right.start);
                }
            }
        }
    }
}
