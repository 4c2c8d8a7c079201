// The Kafka Streams peer of kam-bench: folds every record of a topic into a persistent
// key-value store (RocksDB, with its changelog), keyed by the record's position, under
// exactly_once_v2 - what our read model does, the Kafka Streams way. Prints records/s from
// start-up until `expected` records are folded.
//
//   java -jar kam-streams-peer.jar BROKERS TOPIC EXPECTED STATE_DIR
package kam.bench;

import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

public final class StreamsPeer {
  private StreamsPeer() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 4) {
      System.err.println("usage: StreamsPeer BROKERS TOPIC EXPECTED STATE_DIR");
      System.exit(2);
    }
    final String brokers = args[0];
    final String topic = args[1];
    final long expected = Long.parseLong(args[2]);
    final Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "kam-streams-peer-" + UUID.randomUUID());
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    p.put(StreamsConfig.STATE_DIR_CONFIG, args[3]);
    p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 2);
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
    p.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.ByteArray().getClass());
    p.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.ByteArray().getClass());

    final AtomicLong folded = new AtomicLong();
    final StreamsBuilder builder = new StreamsBuilder();
    builder.addStateStore(Stores.keyValueStoreBuilder(
        Stores.persistentKeyValueStore("history"), Serdes.String(), Serdes.ByteArray()));
    builder.<byte[], byte[]>stream(topic).process(() -> new Processor<byte[], byte[], Void, Void>() {
      private KeyValueStore<String, byte[]> store;
      private ProcessorContext<Void, Void> context;

      @Override
      public void init(ProcessorContext<Void, Void> c) {
        context = c;
        store = c.getStateStore("history");
      }

      @Override
      public void process(Record<byte[], byte[]> r) {
        final RecordMetadata m = context.recordMetadata().orElseThrow();
        store.put(m.topic() + "/" + m.partition() + "/" + m.offset(), r.value());
        folded.incrementAndGet();
      }
    }, "history");

    final long start = System.nanoTime();
    try (KafkaStreams streams = new KafkaStreams(builder.build(), p)) {
      streams.start();
      final long deadline = start + 1_800_000_000_000L;
      while (folded.get() < expected && System.nanoTime() < deadline) Thread.sleep(20);
      final double seconds = (System.nanoTime() - start) / 1e9;
      System.out.println(folded.get() / seconds);
      System.out.flush();
    }
  }
}
