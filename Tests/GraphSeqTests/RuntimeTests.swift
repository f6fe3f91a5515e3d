import CGraphSeq
import GraphSeq
import XCTest

final class RuntimeTests: XCTestCase {
    func testVersionMatchesHeader() {
        XCTAssertEqual(gsq_version(), GSQ_VERSION_MAJOR * 10000 + GSQ_VERSION_MINOR * 100 + GSQ_VERSION_PATCH)
        XCTAssertEqual(Runtime.version, "\(GSQ_VERSION_MAJOR).\(GSQ_VERSION_MINOR).\(GSQ_VERSION_PATCH)")
    }
}
