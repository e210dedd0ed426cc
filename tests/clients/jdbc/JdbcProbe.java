// A small pgJDBC client: PreparedStatement, ResultSet and the DatabaseMetaData calls IDEs make.
// Usage: java -cp postgresql.jar JdbcProbe.java jdbc:postgresql://host:port/db user
import java.sql.*;

public class JdbcProbe {
    public static void main(String[] args) throws Exception {
        try (Connection con = DriverManager.getConnection(args[0], args[1], "")) {
            try (Statement st = con.createStatement()) {
                st.execute("drop table if exists jdbc_items");
                st.execute("create table jdbc_items (id integer primary key, name varchar(30) not null, price numeric(10,2))");
                st.execute("create index jdbc_items_name on jdbc_items (name)");
            }
            try (PreparedStatement ps = con.prepareStatement("insert into jdbc_items values (?, ?, ?)")) {
                for (int i = 1; i <= 3; i++) {
                    ps.setInt(1, i);
                    ps.setString(2, "item" + i);
                    ps.setBigDecimal(3, new java.math.BigDecimal(i + ".50"));
                    ps.executeUpdate();
                }
            }
            try (PreparedStatement ps = con.prepareStatement("select id, name, price from jdbc_items where id >= ? order by id")) {
                ps.setInt(1, 2);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        System.out.println("row " + rs.getInt(1) + " " + rs.getString("name") + " " + rs.getBigDecimal(3));
                    }
                }
            }
            DatabaseMetaData md = con.getMetaData();
            System.out.println("product " + md.getDatabaseProductName() + " " + md.getDatabaseMajorVersion());
            try (ResultSet rs = md.getTables(null, "public", "jdbc_%", new String[] {"TABLE"})) {
                while (rs.next()) {
                    System.out.println("table " + rs.getString("TABLE_SCHEM") + "." + rs.getString("TABLE_NAME") + " " + rs.getString("TABLE_TYPE"));
                }
            }
            try (ResultSet rs = md.getColumns(null, "public", "jdbc_items", "%")) {
                while (rs.next()) {
                    System.out.println("column " + rs.getString("COLUMN_NAME") + " " + rs.getString("TYPE_NAME") + " " + rs.getInt("DATA_TYPE") + " " + rs.getInt("COLUMN_SIZE") + " " + rs.getString("IS_NULLABLE") + " " + rs.getInt("ORDINAL_POSITION"));
                }
            }
            try (ResultSet rs = md.getPrimaryKeys(null, "public", "jdbc_items")) {
                while (rs.next()) {
                    System.out.println("pk " + rs.getString("COLUMN_NAME") + " " + rs.getInt("KEY_SEQ") + " " + rs.getString("PK_NAME"));
                }
            }
            try (ResultSet rs = md.getIndexInfo(null, "public", "jdbc_items", false, false)) {
                while (rs.next()) {
                    System.out.println("index " + rs.getString("INDEX_NAME") + " " + rs.getBoolean("NON_UNIQUE") + " " + rs.getString("COLUMN_NAME") + " " + rs.getShort("ORDINAL_POSITION") + " " + rs.getString("ASC_OR_DESC"));
                }
            }
            try (ResultSet rs = md.getSchemas()) {
                while (rs.next()) {
                    String s = rs.getString("TABLE_SCHEM");
                    if (s.equals("public") || s.equals("information_schema")) System.out.println("schema " + s);
                }
            }
            try (ResultSet rs = md.getImportedKeys(null, "public", "jdbc_items")) {
                int n = 0;
                while (rs.next()) n++;
                System.out.println("imported keys " + n);
            }
        }
    }
}
