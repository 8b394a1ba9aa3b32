package org.infoscreen.fleet.power;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One power driver as its kamelet file declares it ({@code routes/kamelets/<name>-power-action.kamelet.yaml}):
 * the operations it supports (annotation {@code fleet.infoscreen.org/power-operations}; {@code cycle}
 * listed = the hardware has its own off-wait-on), the parameters of a power target (the kamelet's
 * {@code spec.definition}) and the one parameter that is a secret ({@code format: password}).
 *
 * @param name           driver name as used in power targets, e.g. {@code shelly-gen2}
 * @param kamelet        the kamelet's {@code metadata.name}, {@code <name>-power-action}
 * @param title          {@code spec.definition.title}
 * @param description    {@code spec.definition.description}
 * @param operations     supported operations: a subset of {@code query}, {@code on}, {@code off}, {@code cycle}
 * @param properties     declared parameters by name, in file order
 * @param required       names of the required parameters
 * @param secretProperty name of the {@code format: password} parameter, or {@code null}
 * @param outletKeys     parameters that identify the physical outlet (annotation
 *                       {@code fleet.infoscreen.org/outlet-key}; default: every non-secret parameter)
 */
public record PowerDriver(String name, String kamelet, String title, String description, Set<String> operations,
                          Map<String, Property> properties, List<String> required, String secretProperty,
                          List<String> outletKeys) {

    /** How the shared power route cycles an outlet with this driver. */
    public enum Plan {
        /** the hardware's own off-wait-on in one request (safe if the service dies mid-cycle) */
        NATIVE,
        /** off, verify off, wait, on, verify on */
        OFF_ON,
        /** power-on only (wake-on-LAN): for displays that are off */
        ON_ONLY
    }

    /**
     * One declared parameter (JSON schema subset).
     *
     * @param name         parameter name
     * @param type         {@code string}, {@code integer}, {@code number} or {@code boolean}
     * @param title        short label
     * @param description  what it means
     * @param example      an example value
     * @param defaultValue default when a power target leaves it out, or {@code null}
     * @param secret       {@code format: password}: never stored, comes from {@code secret_ref}
     * @param enumValues   allowed values, or an empty list
     * @param pattern      regular expression a string must match, or {@code null}
     * @param minimum      smallest number allowed, or {@code null}
     * @param maximum      largest number allowed, or {@code null}
     * @param format       the declared JSON schema {@code format} ({@code password} = the secret,
     *                     {@code regex} = a Java regular expression, checked when stored), or {@code null}
     */
    public record Property(String name, String type, String title, String description, Object example,
                           Object defaultValue, boolean secret, List<Object> enumValues, String pattern,
                           Double minimum, Double maximum, String format) {
    }

    /** @return how a power cycle is carried out with this driver */
    public Plan plan() {
        if (operations.contains("cycle")) {
            return Plan.NATIVE;
        }
        if (operations.contains("off") && operations.contains("on")) {
            return Plan.OFF_ON;
        }
        return Plan.ON_ONLY;
    }

    /** @return whether the driver can read the outlet state (verification after switching) */
    public boolean canQuery() {
        return operations.contains("query");
    }
}
