//! A shard's deadlines: a binary min-heap of slots ordered by their records' deadlines. Each record keeps its place
//! in the heap, so a deadline that moves (R-QRY-2) is sifted where it stands and a record that goes is taken out at
//! once: one 4-byte entry per record, never a stale one, and no copy of the key or the deadline.

/// The records the heap orders: each slot's deadline, and where the slot's place in the heap is written.
pub(super) trait Slots {
    fn deadline_ms(&self, slot: u32) -> u64;
    fn set_place(&mut self, slot: u32, place: u32);
}

#[derive(Debug, Default)]
pub(super) struct Deadlines {
    heap: Vec<u32>,
}

impl Deadlines {
    /// The slot whose deadline comes first.
    pub(super) fn first(&self) -> Option<u32> {
        self.heap.first().copied()
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.heap.len()
    }

    pub(super) fn push(&mut self, slot: u32, slots: &mut impl Slots) {
        let place = self.heap.len();
        self.heap.push(slot);
        slots.set_place(slot, place as u32);
        self.sift_up(place, slots);
    }

    /// Takes out the slot at `place` (its record is going).
    pub(super) fn remove(&mut self, place: u32, slots: &mut impl Slots) {
        let place = place as usize;
        let Some(last) = self.heap.pop() else {
            return;
        };
        if place < self.heap.len() {
            self.heap[place] = last;
            slots.set_place(last, place as u32);
            self.moved(place as u32, slots);
        }
    }

    /// Puts the slot at `place` back in order after its deadline changed, either way.
    pub(super) fn moved(&mut self, place: u32, slots: &mut impl Slots) {
        let place = self.sift_up(place as usize, slots);
        self.sift_down(place, slots);
    }

    /// The record at `place` now lives in `slot` (the shard compacted its records).
    pub(super) fn relocate(&mut self, place: u32, slot: u32) {
        if let Some(entry) = self.heap.get_mut(place as usize) {
            *entry = slot;
        }
    }

    /// Gives memory back once the heap has emptied to a quarter of its room.
    pub(super) fn shrink(&mut self) {
        if self.heap.len() * 4 < self.heap.capacity() {
            self.heap.shrink_to(self.heap.len() * 2);
        }
    }

    fn sift_up(&mut self, mut place: usize, slots: &mut impl Slots) -> usize {
        while place > 0 {
            let parent = (place - 1) / 2;
            if slots.deadline_ms(self.heap[parent]) <= slots.deadline_ms(self.heap[place]) {
                break;
            }
            self.swap(place, parent, slots);
            place = parent;
        }
        place
    }

    fn sift_down(&mut self, mut place: usize, slots: &mut impl Slots) {
        loop {
            let left = 2 * place + 1;
            let right = left + 1;
            let mut first = place;
            for child in [left, right] {
                if child < self.heap.len() && slots.deadline_ms(self.heap[child]) < slots.deadline_ms(self.heap[first])
                {
                    first = child;
                }
            }
            if first == place {
                return;
            }
            self.swap(place, first, slots);
            place = first;
        }
    }

    fn swap(&mut self, a: usize, b: usize, slots: &mut impl Slots) {
        self.heap.swap(a, b);
        slots.set_place(self.heap[a], a as u32);
        slots.set_place(self.heap[b], b as u32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Slot `i` has deadline `deadlines[i]`, and its place in the heap at `places[i]`.
    #[derive(Default)]
    struct Table {
        deadlines: Vec<u64>,
        places: Vec<u32>,
    }

    impl Slots for Table {
        fn deadline_ms(&self, slot: u32) -> u64 {
            self.deadlines[slot as usize]
        }
        fn set_place(&mut self, slot: u32, place: u32) {
            self.places[slot as usize] = place;
        }
    }

    impl Table {
        fn add(&mut self, heap: &mut Deadlines, deadline: u64) -> u32 {
            let slot = self.deadlines.len() as u32;
            self.deadlines.push(deadline);
            self.places.push(u32::MAX);
            heap.push(slot, self);
            slot
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(u64),
        /// Change the deadline of the n-th live slot.
        Move(usize, u64),
        /// Remove the n-th live slot.
        Remove(usize),
        /// Pop the first.
        Pop,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..50u64).prop_map(Op::Add),
            (any::<usize>(), 0..50u64).prop_map(|(n, d)| Op::Move(n, d)),
            any::<usize>().prop_map(Op::Remove),
            Just(Op::Pop),
        ]
    }

    proptest! {
        /// Whatever happens, the first slot has the earliest deadline of those in the heap, and every slot's place
        /// is where it really is.
        #[test]
        fn the_first_is_always_the_earliest(ops in proptest::collection::vec(op(), 1..80)) {
            let mut heap = Deadlines::default();
            let mut table = Table::default();
            let mut live: Vec<u32> = Vec::new();
            for op in ops {
                match op {
                    Op::Add(d) => live.push(table.add(&mut heap, d)),
                    Op::Move(n, d) if !live.is_empty() => {
                        let slot = live[n % live.len()];
                        table.deadlines[slot as usize] = d;
                        heap.moved(table.places[slot as usize], &mut table);
                    }
                    Op::Remove(n) if !live.is_empty() => {
                        let slot = live.swap_remove(n % live.len());
                        heap.remove(table.places[slot as usize], &mut table);
                    }
                    Op::Pop => {
                        if let Some(slot) = heap.first() {
                            let earliest = live.iter().map(|&s| table.deadlines[s as usize]).min();
                            prop_assert_eq!(Some(table.deadlines[slot as usize]), earliest);
                            live.retain(|&s| s != slot);
                            heap.remove(0, &mut table);
                        }
                    }
                    Op::Move(..) | Op::Remove(_) => {}
                }
                prop_assert_eq!(heap.len(), live.len());
                for &slot in &live {
                    prop_assert_eq!(heap.heap[table.places[slot as usize] as usize], slot);
                }
                let earliest = live.iter().map(|&s| table.deadlines[s as usize]).min();
                prop_assert_eq!(heap.first().map(|s| table.deadlines[s as usize]), earliest);
            }
        }
    }

    #[test]
    fn a_deadline_moved_earlier_or_later_is_found_in_order() {
        let mut heap = Deadlines::default();
        let mut table = Table::default();
        let a = table.add(&mut heap, 100);
        let b = table.add(&mut heap, 200);
        let c = table.add(&mut heap, 300);
        assert_eq!(heap.first(), Some(a));
        // c's deadline is shortened below a's (a first final query), then a's pushed past b's.
        table.deadlines[c as usize] = 50;
        heap.moved(table.places[c as usize], &mut table);
        assert_eq!(heap.first(), Some(c));
        heap.remove(0, &mut table);
        table.deadlines[a as usize] = 250;
        heap.moved(table.places[a as usize], &mut table);
        assert_eq!(heap.first(), Some(b));
        heap.remove(0, &mut table);
        assert_eq!(heap.first(), Some(a));
    }
}
