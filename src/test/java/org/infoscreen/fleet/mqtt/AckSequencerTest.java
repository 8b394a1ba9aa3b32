package org.infoscreen.fleet.mqtt;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Manual acknowledgements leave in arrival order (MQTT 5 §4.6), and never on a later connection. */
class AckSequencerTest {

    private final List<Integer> sent = new ArrayList<>();
    private final AckSequencer acks = new AckSequencer((id, qos) -> sent.add(id));

    @Test
    void acksLeaveInArrivalOrderWhateverOrderProcessingFinishesIn() {
        AckSequencer.Ticket snapshot = acks.arrived(1, 1);
        AckSequencer.Ticket event = acks.arrived(2, 1);
        AckSequencer.Ticket another = acks.arrived(3, 1);

        event.done();
        another.done();
        assertThat(sent).as("the event waits for the snapshot's batch").isEmpty();
        assertThat(acks.outstanding()).isEqualTo(3);

        snapshot.done();
        assertThat(sent).containsExactly(1, 2, 3);
        assertThat(acks.outstanding()).isZero();
        snapshot.done();
        assertThat(sent).as("done twice acks once").containsExactly(1, 2, 3);
    }

    @Test
    void aMessageNeverDoneHoldsBackEveryAckBehindIt() {
        acks.arrived(1, 1);
        acks.arrived(2, 1).done();
        assertThat(sent).isEmpty();
        assertThat(acks.outstanding()).isEqualTo(2);
    }

    @Test
    void ticketsOfAnEarlierConnectionAreNeverAcknowledged() {
        AckSequencer.Ticket old = acks.arrived(7, 1);
        acks.reset();
        AckSequencer.Ticket fresh = acks.arrived(7, 1);
        old.done();
        assertThat(sent).as("id 7 is another message on the new connection").isEmpty();
        fresh.done();
        assertThat(sent).containsExactly(7);
    }

    @Test
    void qos0NeedsNoAcknowledgement() {
        assertThat(acks.arrived(0, 0)).isNull();
        acks.arrived(5, 1).done();
        assertThat(sent).containsExactly(5);
    }
}
