package io.twinhub.twin.domain;

/** The three client-writable parts of a twin, with their path in the twin document. */
public enum Section {
    TAGS("tags", false),
    DESIRED("properties.desired", true),
    REPORTED("properties.reported", true);

    private final String path;
    private final boolean arraysAllowed;

    Section(String path, boolean arraysAllowed) {
        this.path = path;
        this.arraysAllowed = arraysAllowed;
    }

    /** Path of the section in the service view, the prefix of every rejection path. */
    public String path() {
        return path;
    }

    /** Today's IoT Hub allows arrays in desired/reported; we keep tags array-free (PROTOCOL.md). */
    public boolean arraysAllowed() {
        return arraysAllowed;
    }
}
