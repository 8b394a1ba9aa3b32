package org.infoscreen.fleet.cluster;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ClusterSettingsTest {

    @Test
    void instanceIdIsTheConfiguredOneElseTheHostNameReducedToSafeCharacters() {
        assertThat(ClusterSettings.instanceId("2", "host-a")).isEqualTo("2");
        assertThat(ClusterSettings.instanceId(" ", "Fleet-Host.example")).isEqualTo("fleet-host.example");
        assertThat(ClusterSettings.instanceId(null, "3f2a9c1b7d4e")).isEqualTo("3f2a9c1b7d4e");
        assertThat(ClusterSettings.instanceId("a/b+c#d e", null)).isEqualTo("a-b-c-d-e");
        assertThat(ClusterSettings.instanceId("", "")).isEqualTo("1");
    }

    @Test
    void clientIdIsTheConfiguredOneElseDerivedFromTheInstance() {
        assertThat(ClusterSettings.clientId("", "2")).isEqualTo("infoscreen-fleet-2");
        assertThat(ClusterSettings.clientId(null, "1")).isEqualTo("infoscreen-fleet-1");
        assertThat(ClusterSettings.clientId("my-id", "2")).isEqualTo("my-id");
    }

    @Test
    void ingestSubscriptionIsSharedWithAGroupAndPlainWithout() {
        assertThat(ClusterSettings.ingestSubscription("infoscreen", "infoscreen-fleet")).isEqualTo("$share/infoscreen-fleet/infoscreen/#");
        assertThat(ClusterSettings.ingestSubscription("infoscreen/", "g")).isEqualTo("$share/g/infoscreen/#");
        assertThat(ClusterSettings.ingestSubscription("infoscreen", "")).isEqualTo("infoscreen/#");
        assertThat(ClusterSettings.ingestSubscription("infoscreen", null)).isEqualTo("infoscreen/#");
        assertThat(ClusterSettings.isShared("$share/g/infoscreen/#")).isTrue();
        assertThat(ClusterSettings.isShared("infoscreen/#")).isFalse();
    }

    @Test
    void aGroupWithTopicSeparatorsOrWildcardsIsRefused() {
        for (String bad : new String[] {"a/b", "a+", "#"}) {
            assertThatThrownBy(() -> ClusterSettings.ingestSubscription("infoscreen", bad))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("MQTT_SHARED_GROUP");
        }
    }

    @Test
    void quartzPropertiesAreAClusteredPostgresJobStoreWithOneSchedulerName() {
        var p = ClusterSettings.quartzProperties("infoscreen-fleet", "ds", 3, 7500, 1000);
        assertThat(p).containsEntry("org.quartz.scheduler.instanceName", "infoscreen-fleet")
                .containsEntry("org.quartz.scheduler.instanceId", "AUTO")
                .containsEntry("org.quartz.jobStore.class", "org.quartz.impl.jdbcjobstore.JobStoreTX")
                .containsEntry("org.quartz.jobStore.driverDelegateClass", "org.quartz.impl.jdbcjobstore.PostgreSQLDelegate")
                .containsEntry("org.quartz.jobStore.isClustered", "true")
                .containsEntry("org.quartz.jobStore.dataSource", "ds")
                .containsEntry("org.quartz.jobStore.tablePrefix", "qrtz_")
                .containsEntry("org.quartz.jobStore.misfireThreshold", "1000")
                .containsEntry("org.quartz.jobStore.clusterCheckinInterval", "7500")
                .containsEntry("org.quartz.threadPool.threadCount", "3");
    }
}
