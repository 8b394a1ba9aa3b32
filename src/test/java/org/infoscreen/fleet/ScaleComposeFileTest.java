package org.infoscreen.fleet;

import org.junit.jupiter.api.Test;
import org.snakeyaml.engine.v2.api.ConstructNode;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;
import org.snakeyaml.engine.v2.nodes.Tag;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Static checks of docker-compose.scale.yml, the second instance of docs/scaling.md (no Docker
 * engine in CI): it extends the service of docker-compose.yml, so the two cannot drift apart, and
 * changes only what must differ per instance (instance id, MQTT client id, host port, data volume);
 * the base service does not pin an MQTT client id that both would share.
 */
class ScaleComposeFileTest {

    @SuppressWarnings("unchecked")
    private static Map<String, Object> load(String file) throws IOException {
        // Compose's merge tag !override on a sequence: read as the plain sequence
        ConstructNode override = node -> ((SequenceNode) node).getValue().stream().map(n -> ((ScalarNode) n).getValue()).toList();
        LoadSettings settings = LoadSettings.builder().setTagConstructors(Map.of(new Tag("!override"), override)).build();
        return (Map<String, Object>) new Load(settings).loadFromString(Files.readString(Path.of(file)));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> service(Map<String, Object> compose, String name) {
        return (Map<String, Object>) ((Map<String, Object>) compose.get("services")).get(name);
    }

    @Test
    @SuppressWarnings("unchecked")
    void secondInstanceExtendsTheServiceAndChangesOnlyItsIdentityPortAndVolume() throws IOException {
        Map<String, Object> scale = load("docker-compose.scale.yml");
        Map<String, Object> second = service(scale, "fleet-2");
        assertThat((Map<String, Object>) second.get("extends"))
                .containsEntry("file", "docker-compose.yml").containsEntry("service", "fleet");
        assertThat(second.keySet()).containsExactlyInAnyOrder("extends", "depends_on", "ports", "environment", "volumes");

        Map<String, Object> env = (Map<String, Object>) second.get("environment");
        assertThat(env).containsOnlyKeys("FLEET_INSTANCE_ID", "MQTT_CLIENT_ID");
        assertThat(env.get("MQTT_CLIENT_ID")).isEqualTo("infoscreen-fleet-" + env.get("FLEET_INSTANCE_ID"));

        Map<String, Object> base = service(load("docker-compose.yml"), "fleet");
        Map<String, Object> baseEnv = (Map<String, Object>) base.get("environment");
        assertThat(baseEnv).as("one client id for every instance would make them take each other's session")
                .doesNotContainKey("MQTT_CLIENT_ID").containsEntry("FLEET_INSTANCE_ID", "${FLEET_INSTANCE_ID:-1}");
        assertThat(env.get("FLEET_INSTANCE_ID")).isNotEqualTo("1");

        assertThat((List<String>) second.get("ports")).singleElement().asString().endsWith(":8080")
                .isNotIn((List<String>) base.get("ports"));
        assertThat((List<String>) second.get("volumes")).containsExactly("fleet-2-data:/app/data");
        assertThat((Map<String, Object>) scale.get("volumes")).containsKey("fleet-2-data");
        assertThat(second.get("depends_on")).isEqualTo(base.get("depends_on"));
    }

    @Test
    void everyVariableOfTheScaleFileIsInEnvExample() throws IOException {
        String example = Files.readString(Path.of(".env.example"));
        Matcher m = Pattern.compile("\\$\\{([A-Z][A-Z0-9_]*)").matcher(Files.readString(Path.of("docker-compose.scale.yml")));
        while (m.find()) {
            assertThat(example).as(".env.example lists " + m.group(1)).containsPattern("(?m)^#? ?" + m.group(1) + "=");
        }
    }
}
