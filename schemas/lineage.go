package schemas

// ConsumedRange is exactly what a replay read of one partition: offsets [First, Last] (Last is -1
// and Count 0 when nothing was read), and the partition's end (high watermark) when the replay began.
type ConsumedRange struct {
	Topic     string `json:"topic"`
	Partition int    `json:"partition"`
	First     int64  `json:"first"`
	Last      int64  `json:"last"`
	Count     int64  `json:"count"`
	End       int64  `json:"end"`
}
