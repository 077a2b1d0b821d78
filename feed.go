package dnadb

// The consumer feed is what filtering companies follow to keep their own copy of
// the distributable set: the signals of every confirmed item. It is derived from
// the change log, and only the changes that alter that set appear in it.

// FeedOp says what a feed entry does to a consumer's copy of the distributable set.
type FeedOp string

// The operations of the feed.
const (
	// FeedAdd means the item's signals became distributable: the item was
	// confirmed. The entry carries its category and signals.
	FeedAdd FeedOp = "add"
	// FeedRemove means the item stopped being distributable: it was rejected or
	// withdrawn after it had been confirmed. The entry carries only its id.
	FeedRemove FeedOp = "remove"
)

// FeedEntry is one entry of the consumer feed. It holds what a filter needs and
// nothing more: never sources, references, actors or who decided.
type FeedEntry struct {
	Op     FeedOp `json:"op"`
	ItemID int64  `json:"item_id"`
	// Category and Signals are set when Op is FeedAdd.
	Category Category `json:"category,omitempty"`
	Signals  []Signal `json:"signals,omitempty"`
}

// FeedItem is a confirmed item as a consumer sees it in a snapshot of the
// distributable set.
type FeedItem struct {
	ItemID   int64    `json:"item_id"`
	Category Category `json:"category"`
	Signals  []Signal `json:"signals"`
}

// FeedPage is a page of the consumer feed.
type FeedPage struct {
	// Entries are in change log order.
	Entries []FeedEntry
	// Seq is the sequence number of the last change the page covers, which may be
	// a change that no entry shows; it is the after of the next page. A page that
	// covers no change has the after it was asked for.
	Seq int64
	// More reports that committed changes remain after Seq: the page was cut short
	// by its limit, and the next one can be read at once.
	More bool
}

// Limits of one page of the feed.
const (
	// MaxFeedScan caps the changes one page of the feed reads, so that a long run
	// of changes that no entry shows (registrations, pending decisions) is
	// crossed a few pages at a time.
	MaxFeedScan = 10 * MaxPageSize
	// MaxFeedBytes caps, roughly, the signal values in one page, since a video's
	// vPDQ signal alone may run to a megabyte. A page holds at least one entry
	// whatever its size.
	MaxFeedBytes = 8 << 20
)
