extension ModelState {
    /// The state as the Swift layers take it (nil: zeros). The C entry points
    /// fill a zero h when only c is given.
    var recurrentState: RecurrentState? { h.map { RecurrentState(h: $0, c: c) } }

    init(_ state: RecurrentState) { self.init(h: state.h, c: state.c) }
}
